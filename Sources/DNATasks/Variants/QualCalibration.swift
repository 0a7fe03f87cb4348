import FileOutput
import Foundation

/// Maps the classifier's raw QUAL (−10·log10 P(no variant)) to a Phred-scaled QUAL that matches the
/// precision measured on held-out validation data (`scripts/calibrate-variant-qual`).
///
/// Calls fall into two classes: strongly supported ones (at least `strongMinReads` reads on the allele
/// and an allele share of at least `strongMinShare`) and the others; each class has its own monotone
/// table from raw QUAL to calibrated QUAL (knots of an isotonic fit of precision in raw-QUAL bins,
/// interpolated linearly, flat below the first knot, slope 1 above the last so the order of the
/// best-supported calls is kept). A model directory holds it as `qual_calibration.json`; a model without
/// one writes the raw QUAL.
public struct QualCalibration: Sendable, Equatable {
    public static let fileName = "qual_calibration.json"

    public struct Table: Sendable, Equatable {
        /// Raw QUAL knots (increasing) and the calibrated QUAL at each (non-decreasing).
        public var raw: [Float]
        public var qual: [Float]

        public init(raw: [Float], qual: [Float]) { self.raw = raw; self.qual = qual }

        public func apply(_ x: Float) -> Float {
            guard let first = raw.first, let last = raw.last, raw.count == qual.count else { return x }
            if x <= first { return qual[0] }
            if x >= last { return qual[qual.count - 1] + (x - last) }
            var i = 1
            while raw[i] < x { i += 1 }
            let t = (x - raw[i - 1]) / max(raw[i] - raw[i - 1], 1e-6)
            return qual[i - 1] + t * (qual[i] - qual[i - 1])
        }
    }

    public var strong: Table
    public var other: Table
    public var strongMinReads: Int
    public var strongMinShare: Double

    public init(strong: Table, other: Table, strongMinReads: Int = 10, strongMinShare: Double = 0.9) {
        self.strong = strong; self.other = other
        self.strongMinReads = strongMinReads; self.strongMinShare = strongMinShare
    }

    /// Whether a call with `altCount` of `depth` reads is in the strongly supported class.
    public func isStrong(altCount: Int, depth: Int) -> Bool {
        altCount >= strongMinReads && Double(altCount) >= strongMinShare * Double(max(depth, altCount))
    }

    /// The calibrated QUAL (capped at `Genotyper.maxQual`, two decimals).
    public func qual(raw: Float, altCount: Int, depth: Int) -> Float {
        let q = (isStrong(altCount: altCount, depth: depth) ? strong : other).apply(raw)
        return (min(max(q, 0), Genotyper.maxQual) * 100).rounded() / 100
    }

    /// Reads `qual_calibration.json` from a model directory; `nil` when there is none.
    /// - Throws: `ToolError` naming the file when it exists but is not a calibration.
    public static func load(directory: String) throws -> QualCalibration? {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        func table(_ v: Any?) -> Table? {
            guard let d = v as? [String: Any], let r = (d["raw_qual"] as? [NSNumber])?.map({ $0.floatValue }),
                  let q = (d["qual"] as? [NSNumber])?.map({ $0.floatValue }), r.count == q.count, !r.isEmpty,
                  zip(r, r.dropFirst()).allSatisfy({ $0 < $1 }), zip(q, q.dropFirst()).allSatisfy({ $0 <= $1 }) else { return nil }
            return Table(raw: r, qual: q)
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let strong = table(json["strong"]), let other = table(json["other"]),
              let minReads = json["strong_min_reads"] as? Int, let minShare = (json["strong_min_share"] as? NSNumber)?.doubleValue else {
            throw ToolError(file: path, "not a QUAL calibration (strong/other tables of increasing raw_qual and non-decreasing qual, strong_min_reads, strong_min_share)")
        }
        return QualCalibration(strong: strong, other: other, strongMinReads: minReads, strongMinShare: minShare)
    }
}
