import FileOutput
import Foundation

/// Maps the classifier's raw QUAL (−10·log10 P(no variant)) to a Phred-scaled QUAL that matches the
/// precision measured on held-out validation data (`scripts/calibrate-variant-qual`).
///
/// Calls fall into support classes, each defined by the fewest reads on the allele and the smallest
/// allele share it takes (the first class a call meets is its class; the last takes every call). The share is
/// taken over the call's depth (the VCF's DP) or over its informative reads (reference + allele, the VCF's AD):
/// a read that fits neither the reference nor the allele's haplotype says nothing about the allele, so with
/// haplotype evidence a call carried by every informative read is well supported whatever the others do. Each
/// class has its own monotone table from raw QUAL to calibrated QUAL (knots of an isotonic fit of
/// precision in raw-QUAL bins, interpolated linearly, flat below the first knot, slope 1 above the last
/// so the order of the best-supported calls is kept). A model directory holds it as
/// `qual_calibration.json`; a model without one writes the raw QUAL.
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

    /// What a support class's share is taken over (`share_of` in the file; `depth` when absent).
    public enum ShareBase: String, Sendable, Equatable {
        /// The call's depth (DP).
        case depth
        /// The reads on the reference or on the allele (the sum of AD).
        case informative
    }

    /// One support class and its table.
    public struct SupportClass: Sendable, Equatable {
        public var minReads: Int
        public var minShare: Double
        public var shareOf: ShareBase
        public var table: Table
        public init(minReads: Int, minShare: Double, shareOf: ShareBase = .depth, table: Table) {
            self.minReads = minReads; self.minShare = minShare; self.shareOf = shareOf; self.table = table
        }

        public func contains(altCount: Int, refCount: Int, depth: Int) -> Bool {
            let base = shareOf == .depth ? depth : refCount + altCount
            return altCount >= minReads && Double(altCount) >= minShare * Double(max(base, altCount))
        }
    }

    public var classes: [SupportClass]
    /// Candidate settings the calls it was fitted on were made with (`haplotype_evidence`, `realign`, `ploidy`, `clip_indels`,
    /// `assemble`):
    /// read counts, allele shares, and so support classes and raw QUAL, depend on them. Empty = any.
    public var settings: [String: String]

    public init(classes: [SupportClass], settings: [String: String] = [:]) {
        self.classes = classes
        self.settings = settings
    }

    /// The settings of `options` that a calibration records.
    public static func settings(of options: CandidateOptions) -> [String: String] {
        ["haplotype_evidence": options.haplotypeEvidence.rawValue, "realign": String(options.realign),
         "ploidy": String(options.ploidy), "clip_indels": String(options.clipIndels),
         "assemble": String(options.assemble)]
    }

    /// Why this calibration does not fit calls made with `options` (one line), or `nil` when it does.
    public func mismatch(_ options: CandidateOptions) -> String? {
        let run = Self.settings(of: options)
        let differing = settings.keys.sorted().filter { run[$0] != nil && run[$0] != settings[$0] }
        guard !differing.isEmpty else { return nil }
        return "the model's QUAL calibration was fitted with " + differing.map { "\($0)=\(settings[$0]!)" }.joined(separator: ", ")
            + " and this run uses " + differing.map { "\($0)=\(run[$0]!)" }.joined(separator: ", ") + ": QUAL is written uncalibrated"
    }

    /// The calibrated QUAL (capped at `Genotyper.maxQual`, two decimals); the raw QUAL when no class matches.
    public func qual(raw: Float, altCount: Int, refCount: Int, depth: Int) -> Float {
        guard let c = classes.first(where: { $0.contains(altCount: altCount, refCount: refCount, depth: depth) }) else { return raw }
        return (min(max(c.table.apply(raw), 0), Genotyper.maxQual) * 100).rounded() / 100
    }

    /// Reads `qual_calibration.json` from a model directory; `nil` when there is none.
    /// - Throws: `ToolError` naming the file when it exists but is not a calibration.
    public static func load(directory: String) throws -> QualCalibration? {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        func supportClass(_ v: Any) -> SupportClass? {
            guard let d = v as? [String: Any], let r = (d["raw_qual"] as? [NSNumber])?.map({ $0.floatValue }),
                  let q = (d["qual"] as? [NSNumber])?.map({ $0.floatValue }), r.count == q.count, !r.isEmpty,
                  zip(r, r.dropFirst()).allSatisfy({ $0 < $1 }), zip(q, q.dropFirst()).allSatisfy({ $0 <= $1 }),
                  let minReads = d["min_reads"] as? Int, let minShare = (d["min_share"] as? NSNumber)?.doubleValue,
                  let shareOf = ShareBase(rawValue: d["share_of"] as? String ?? "depth") else { return nil }
            return SupportClass(minReads: minReads, minShare: minShare, shareOf: shareOf, table: Table(raw: r, qual: q))
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = json["classes"] as? [Any], !list.isEmpty else {
            throw ToolError(file: path, "not a QUAL calibration (a list 'classes' of min_reads, min_share and raw_qual/qual tables)")
        }
        let classes = list.compactMap(supportClass)
        guard classes.count == list.count else {
            throw ToolError(file: path, "a class needs min_reads, min_share, share_of depth or informative (optional), increasing raw_qual and non-decreasing qual of one length")
        }
        var settings: [String: String] = [:]
        for (k, v) in json["settings"] as? [String: Any] ?? [:] { settings[k] = "\(v)" }
        return QualCalibration(classes: classes, settings: settings)
    }
}
