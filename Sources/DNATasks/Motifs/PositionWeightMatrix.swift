import Foundation

/// One strand of a motif as log-odds scores against a 0-order background, with the exact
/// distribution of its discretised window score under that background.
///
/// **Probabilities.** With counts `c[i][b]`, column total `N_i`, pseudocount `π` and background
/// `bg`, `PseudocountRule.spread` gives `p[i][b] = (c[i][b] + π·bg[b]) / (N_i + π)`, the rule FIMO
/// uses (`--motif-pseudo`, default 0.1, spread over the bases by the background);
/// `PseudocountRule.perBase` gives `p[i][b] = (c[i][b] + π) / (N_i + 4π)`, Biopython's
/// `counts.normalize(pseudocounts=π)`, which pulls sparse matrices harder towards uniform. MEME
/// probability matrices enter as probability × nsites, so they follow the same rules.
///
/// **Scores.** `score[i][b] = log2(p[i][b] / bg[b])` bits; a window's score is the sum over its
/// positions. For p-values each entry is discretised as `round(score[i][b] · scale)` (default 100
/// per bit), so a window's discretised score is an integer within `width · 0.5 / scale` bits of
/// its exact score.
///
/// **p-values.** `pValue(scaled:)` is `P(S ≥ s)` for the discretised score `S` of a window whose
/// bases are drawn independently from the background, computed exactly (up to floating point)
/// by dynamic programming over positions: the distribution after position `i` is the one after
/// `i − 1` convolved with the `(score, bg)` pairs of column `i`. This is FIMO's method with a
/// fixed scale per bit rather than a fixed range per column.
///
/// **Thresholds** (`ThresholdRule`): FIMO's rule reports windows whose p-value is below the
/// threshold; the false-positive-rate rule (Biopython's `threshold_fpr`) reports windows whose
/// score is at least the highest score `s` with `P(S ≥ s) ≥ rate`, so it also admits the one score
/// level whose p-value first reaches the rate (e.g. the best word of a short motif).
public struct PositionWeightMatrix: Sendable {
    /// How a pseudocount enters a column (see the type's comment).
    public enum PseudocountRule: String, Sendable, CaseIterable {
        /// `π` in total, spread over the bases by the background (FIMO).
        case spread
        /// `π` added to each base's count (Biopython's `normalize(pseudocounts=π)`).
        case perBase = "per-base"
    }

    /// Which windows a threshold admits (see the type's comment).
    public enum ThresholdRule: String, Sendable, CaseIterable {
        /// p-value `<` threshold.
        case fimo
        /// score `≥` the score whose upper tail first reaches the rate (Biopython's `threshold_fpr`).
        case fpr
    }


    public let width: Int
    /// Log-odds in bits: `scores[i * 4 + b]` for position `i` (0-based) and base `b` (0 A, 1 C, 2 G, 3 T).
    public let scores: [Double]
    /// `round(scores[k] * scale)`.
    public let scaledScores: [Int32]
    /// Scaled units per bit.
    public let scale: Double
    /// Lowest and highest possible discretised window score.
    public let minScaled: Int
    public let maxScaled: Int
    /// `tail[k] = P(S ≥ minScaled + k)`, `k` in `0...(maxScaled - minScaled)`.
    private let tail: [Double]

    /// - Parameters:
    ///   - pseudocount: `π` above; must be positive unless every count is positive.
    ///   - pseudocountRule: how `π` enters each column.
    ///   - scale: discretisation steps per bit, at least 1.
    /// - Throws: `ToolError` (file `motif.id`) when a zero count meets a zero pseudocount
    ///   (a score of −∞), or for a bad scale.
    public init(motif: Motif, background: Background, pseudocount: Double = 0.1,
                pseudocountRule: PseudocountRule = .spread, scale: Double = 100) throws {
        guard pseudocount >= 0, pseudocount.isFinite else { throw ToolError(file: "--pseudocount", "must be zero or positive") }
        guard scale >= 1, scale.isFinite else { throw ToolError(file: "scale", "must be at least 1") }
        width = motif.width
        self.scale = scale
        let bg = background.probabilities
        var s = [Double](), q = [Int32]()
        let probabilities = Self.probabilities(motif: motif, background: background, pseudocount: pseudocount,
                                               rule: pseudocountRule)
        for (i, column) in probabilities.enumerated() {
            for b in 0..<4 {
                let p = column[b]
                guard p > 0 else {
                    throw ToolError(file: motif.id, "position \(i + 1) has a zero count for \(MotifText.bases[b]); use a pseudocount above 0")
                }
                let v = log2(p / bg[b])
                s.append(v)
                q.append(Int32((v * scale).rounded()))
            }
        }
        scores = s
        scaledScores = q
        (minScaled, maxScaled, tail) = Self.distribution(width: width, scaled: q, background: bg)
    }

    /// The exact distribution of the discretised score, as tail probabilities.
    private static func distribution(width: Int, scaled q: [Int32], background bg: [Double]) -> (Int, Int, [Double]) {
        // Shift every column so that its lowest score is 0: the running total then indexes the array.
        var low = 0, range = 0
        var shifted: [[Int]] = []
        for i in 0..<width {
            let col = (0..<4).map { Int(q[i * 4 + $0]) }
            let lo = col.min()!, hi = col.max()!
            low += lo
            range += hi - lo
            shifted.append(col.map { $0 - lo })
        }
        var dist = [Double](repeating: 0, count: range + 1)
        var next = dist
        dist[0] = 1
        var reach = 0   // highest index that can be non-zero so far
        for col in shifted {
            let top = reach + col.max()!
            for k in 0...top { next[k] = 0 }
            dist.withUnsafeBufferPointer { d in
                next.withUnsafeMutableBufferPointer { n in
                    for b in 0..<4 {
                        let w = bg[b], off = col[b]
                        for k in 0...reach { n[k + off] += d[k] * w }
                    }
                }
            }
            swap(&dist, &next)
            reach = top
        }
        // Sum from the top so that small tail probabilities keep their relative precision.
        var tail = [Double](repeating: 0, count: range + 1)
        var acc = 0.0
        for k in stride(from: range, through: 0, by: -1) {
            acc += dist[k]
            tail[k] = acc
        }
        return (low, low + range, tail)
    }

    /// `P(S ≥ scaled)` under the background; 1 below the lowest and 0 above the highest score.
    public func pValue(scaled: Int) -> Double {
        if scaled <= minScaled { return 1 }
        if scaled > maxScaled { return 0 }
        return tail[scaled - minScaled]
    }

    /// The lowest discretised score whose p-value is `< threshold` (strictly, as FIMO reports
    /// "p-value less than"), or `nil` when no score is that rare. A window is a hit when its
    /// discretised score is at least this.
    public func cutoff(pValue threshold: Double) -> Int? {
        // tail is non-increasing: binary search for the first index with tail < threshold.
        var lo = 0, hi = tail.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if tail[mid] < threshold { hi = mid } else { lo = mid + 1 }
        }
        return lo < tail.count ? minScaled + lo : nil
    }

    /// The lowest discretised score a window needs to be reported under `rule`, or `nil` when no
    /// window can be (FIMO's rule with a threshold below every p-value).
    /// - Parameter threshold: the p-value (`.fimo`) or false-positive rate (`.fpr`); above 1 admits
    ///   every window under both rules.
    public func cutoff(threshold: Double, rule: ThresholdRule) -> Int? {
        switch rule {
        case .fimo: return cutoff(pValue: threshold)
        case .fpr: return cutoff(falsePositiveRate: threshold)
        }
    }

    /// The highest discretised score `s` with `P(S ≥ s) ≥ rate`: Biopython's `threshold_fpr`, which
    /// walks down from the best score adding probabilities until the tail reaches the rate, here on
    /// the exact distribution. A window is a hit when its score is at least this, so the reported
    /// share of background windows is `P(S ≥ cutoff)`, the smallest tail that is `≥ rate`.
    /// `minScaled` (every window) when even `P(S ≥ minScaled)` is below the rate, i.e. a rate above 1.
    public func cutoff(falsePositiveRate rate: Double) -> Int {
        // tail is non-increasing: binary search for the last index with tail >= rate.
        var lo = 0, hi = tail.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if tail[mid] >= rate { lo = mid + 1 } else { hi = mid }
        }
        return minScaled + max(0, lo - 1)
    }

    /// The discretised and exact scores of `codes` (base codes 0–3, at least `width` of them).
    public func score<C: RandomAccessCollection>(codes: C) -> (scaled: Int, bits: Double) where C.Element == UInt8, C.Index == Int {
        var s = 0, bits = 0.0
        for i in 0..<width {
            let k = i * 4 + Int(codes[codes.startIndex + i])
            s += Int(scaledScores[k])
            bits += scores[k]
        }
        return (s, bits)
    }

    /// Probabilities behind the scores, `probabilities(motif:...)[i][b]`, for display and tests.
    public static func probabilities(motif: Motif, background: Background, pseudocount: Double,
                                     rule: PseudocountRule = .spread) -> [[Double]] {
        motif.columns.map { column in
            let total = column.reduce(0, +)
            switch rule {
            case .spread: return (0..<4).map { (column[$0] + pseudocount * background.probabilities[$0]) / (total + pseudocount) }
            case .perBase: return (0..<4).map { (column[$0] + pseudocount) / (total + 4 * pseudocount) }
            }
        }
    }
}
