import FileOutput
import Foundation
import MambaModel

/// One confidence per classified read, on one scale whatever decided it: the estimated probability that the read's
/// label is right, from a logistic calibration fitted on labelled validation reads plus random DNA (which has no
/// right label). A model directory carries it as `calibration.json` (`train --task calibrate` writes it); without
/// one the confidence is the raw score of the path that decided (the sketch's share of hits, or the model's
/// probability), and no read is left unclassified for it.
///
/// Features (`ReadConfidence.Features`), per path:
///   sketch  logit(share of the read's sketch hits for the label), log(1 + hits for the label), log(1 + all hits)
///   model   logit(probability of the label), log(1 + all sketch hits) when the directory has a sketch,
///           mean over the read's words of max_c log P(word | c) when it has a k-mer profile (random DNA scores low),
///           log(length)
/// Logits are clipped to ±20 (probabilities within 2e-9 of 0 or 1 keep their order through the rest).
public struct ReadConfidence: Sendable, Equatable {
    public static let fileName = "calibration.json"

    public enum Path: String, Sendable, Codable, CaseIterable { case sketch, model }

    /// A logistic model: P(correct) = 1 / (1 + exp(-(w·x + b))).
    public struct Logistic: Sendable, Equatable, Codable {
        public var weights: [Double]
        public var bias: Double
        public init(weights: [Double], bias: Double) { self.weights = weights; self.bias = bias }

        public func logit(_ x: [Double]) -> Double {
            precondition(x.count == weights.count, "calibration expects \(weights.count) features, got \(x.count)")
            return zip(weights, x).reduce(bias) { $0 + $1.0 * $1.1 }
        }

        /// Fits by Newton's method (IRLS) with an L2 penalty `l2` on the weights (not the bias); features are used as
        /// given. Deterministic.
        public static func fit(_ x: [[Double]], _ y: [Bool], l2: Double = 1e-3, iterations: Int = 50) -> Logistic {
            let d = x.first?.count ?? 0, n = Double(max(x.count, 1))
            var beta = [Double](repeating: 0, count: d + 1)   // bias last
            for _ in 0..<iterations {
                var g = [Double](repeating: 0, count: d + 1)
                var h = [Double](repeating: 0, count: (d + 1) * (d + 1))
                for (row, label) in zip(x, y) {
                    let z = zip(beta, row).reduce(beta[d]) { $0 + $1.0 * $1.1 }
                    let p = 1 / (1 + exp(-z))
                    let r = (label ? 1 : 0) - p, w = max(p * (1 - p), 1e-12)
                    for i in 0...d {
                        let xi = i < d ? row[i] : 1
                        g[i] += r * xi
                        for j in 0...d { h[i * (d + 1) + j] += w * xi * (j < d ? row[j] : 1) }
                    }
                }
                for i in 0...d {
                    g[i] /= n
                    for j in 0...d { h[i * (d + 1) + j] /= n }
                    if i < d { g[i] -= l2 * beta[i]; h[i * (d + 1) + i] += l2 }
                }
                guard let step = solve(h, g, d + 1) else { break }
                var size = 0.0
                for i in 0...d { beta[i] += step[i]; size = max(size, abs(step[i])) }
                if size < 1e-10 { break }
            }
            return Logistic(weights: Array(beta[0..<d]), bias: beta[d])
        }

        /// Solves A x = b (A symmetric positive definite, n × n) by Gaussian elimination with partial pivoting.
        static func solve(_ a: [Double], _ b: [Double], _ n: Int) -> [Double]? {
            var m = a, v = b
            for c in 0..<n {
                let p = (c..<n).max { abs(m[$0 * n + c]) < abs(m[$1 * n + c]) }!
                guard abs(m[p * n + c]) > 1e-300 else { return nil }
                if p != c {
                    for j in 0..<n { m.swapAt(p * n + j, c * n + j) }
                    v.swapAt(p, c)
                }
                for r in (c + 1)..<n {
                    let f = m[r * n + c] / m[c * n + c]
                    guard f != 0 else { continue }
                    for j in c..<n { m[r * n + j] -= f * m[c * n + j] }
                    v[r] -= f * v[c]
                }
            }
            var x = [Double](repeating: 0, count: n)
            for r in stride(from: n - 1, through: 0, by: -1) {
                var s = v[r]
                for j in (r + 1)..<n { s -= m[r * n + j] * x[j] }
                x[r] = s / m[r * n + r]
            }
            return x
        }
    }

    /// What `calibration.json` holds.
    public struct Calibration: Sendable, Equatable, Codable {
        /// Per path, the logistic model over that path's features (`sketch` absent for a model without a sketch).
        public var sketch: Logistic?
        public var model: Logistic
        /// Which optional model-path features the calibration was fitted with (they must match the directory).
        public var modelFeatures: [String]
        /// The default `--confidence`: the lowest threshold at which the validation reads kept reach
        /// `targetPrecision` (random reads counted as wrong).
        public var threshold: Double
        public var targetPrecision: Double
        /// What it was fitted on (free text: reads, classes, negatives, where they came from).
        public var fittedOn: String
        /// At `threshold`, on the validation reads: precision, share of labelled reads kept, share of random reads kept.
        public var validation: [String: Double]

        enum CodingKeys: String, CodingKey {
            case sketch, model, threshold, validation
            case modelFeatures = "model_features", targetPrecision = "target_precision", fittedOn = "fitted_on"
        }
    }

    /// One read's features on its path.
    public struct Features: Sendable, Equatable {
        public var path: Path
        public var values: [Double]
        /// The uncalibrated score: the sketch's share or the model's probability of the label.
        public var raw: Double
    }

    public let calibration: Calibration?

    public init(calibration: Calibration?) { self.calibration = calibration }

    /// The directory's calibration, or an uncalibrated confidence when it has none. Throws one line naming the file
    /// when it is not a valid calibration, or when it was fitted with features the directory cannot give.
    /// The model features the directory's calibration was fitted with, or nil when it has none. Throws as `load`
    /// for a file that cannot be read or decoded.
    public static func fittedFeatures(directory: String) throws -> [String]? {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do { return try JSONDecoder().decode(Calibration.self, from: Data(contentsOf: URL(fileURLWithPath: path))).modelFeatures }
        catch let e as DecodingError { throw ToolError(file: path, "not a valid calibration: \(describe(e))") }
        catch { throw ToolError(file: path, "cannot read: \(ErrorText.reason(error))") }
    }

    public static func load(directory: String, hasSketch: Bool, hasProfile: Bool) throws -> ReadConfidence {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else { return ReadConfidence(calibration: nil) }
        let c: Calibration
        do { c = try JSONDecoder().decode(Calibration.self, from: Data(contentsOf: URL(fileURLWithPath: path))) }
        catch let e as DecodingError { throw ToolError(file: path, "not a valid calibration: \(describe(e))") }
        catch { throw ToolError(file: path, "cannot read: \(ErrorText.reason(error))") }
        let want = modelFeatureNames(hasSketch: hasSketch, hasProfile: hasProfile)
        guard c.modelFeatures == want, c.model.weights.count == want.count + 2 else {
            throw ToolError(file: path, "calibrated with model features \(c.modelFeatures), but this directory gives \(want)"
                + " (a k-mer sketch or profile was added or removed after calibrating: run `train --task calibrate` again)")
        }
        if hasSketch, c.sketch?.weights.count != 3 {
            throw ToolError(file: path, "the directory has a k-mer sketch but the calibration has no 3-feature sketch part")
        }
        guard c.threshold.isFinite, (0...1).contains(c.threshold) else {
            throw ToolError(file: path, "threshold \(c.threshold) is not between 0 and 1")
        }
        return ReadConfidence(calibration: c)
    }

    static func describe(_ e: DecodingError) -> String {
        switch e {
        case .keyNotFound(let key, _): return "missing '\(key.stringValue)'"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            let at = c.codingPath.map(\.stringValue).joined(separator: ".")
            return (at.isEmpty ? "" : "'\(at)': ") + c.debugDescription
        @unknown default: return "\(e)"
        }
    }

    /// The optional model-path features a directory gives, by name.
    public static func modelFeatureNames(hasSketch: Bool, hasProfile: Bool) -> [String] {
        (hasSketch ? ["sketch_hits"] : []) + (hasProfile ? ["profile_word_score"] : [])
    }

    static func clippedLogit(_ p: Double) -> Double {
        let q = min(max(p, 2e-9), 1 - 2e-9)
        return log(q / (1 - q))
    }

    /// Features of a read the sketch decided: `hits` are its hits per class, `label` the decided class.
    public static func sketchFeatures<H: Collection>(hits: H, label: Int) -> Features where H.Element: BinaryInteger {
        let all = hits.reduce(0.0) { $0 + Double($1) }
        let top = Double(hits[hits.index(hits.startIndex, offsetBy: label)])
        let share = top / max(all, 1)
        return Features(path: .sketch, values: [clippedLogit(share), log1p(top), log1p(all)], raw: share)
    }

    /// Features of a read the model decided: `probability` of its label, the read's total sketch hits (nil: no
    /// sketch), its best class's profile score per word (nil: no profile), and its length.
    public static func modelFeatures(probability: Double, sketchHits: Double?, profileWordScore: Double?,
                                     length: Int) -> Features {
        var v = [clippedLogit(probability)]
        if let sketchHits { v.append(log1p(sketchHits)) }
        if let profileWordScore { v.append(profileWordScore) }
        v.append(log(Double(max(length, 1))))
        return Features(path: .model, values: v, raw: probability)
    }

    /// The confidence of a read with these features.
    public func confidence(_ f: Features) -> Double {
        guard let c = calibration else { return f.raw }
        switch f.path {
        case .sketch:
            guard let s = c.sketch else { return f.raw }
            return 1 / (1 + exp(-s.logit(f.values)))
        case .model:
            return 1 / (1 + exp(-c.model.logit(f.values)))
        }
    }

    /// The threshold a run uses when `--confidence` is not given.
    public var defaultThreshold: Double { calibration?.threshold ?? 0 }

    /// The confidence as text with enough digits to rank reads: 6 decimals, more as 1 − c shrinks (0.9999999312),
    /// at most 12.
    public static func format(_ c: Double) -> String {
        let digits = min(12, max(6, Int((-log10(max(1 - c, 1e-12))).rounded(.up)) + 4))
        return String(format: "%.\(digits)f", c)
    }
}
