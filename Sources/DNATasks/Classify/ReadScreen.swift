/// Reads that no classifier should be trusted with, recognised from their bases before any model runs: too short,
/// mostly not A/C/G/T (runs of `N`, protein, other text), or of low complexity (homopolymers, short tandem repeats).
/// `classify` reports them as `unclassified` with the reason instead of forcing a class on them.
public struct ReadScreen: Sendable, Equatable {
    /// Why a read is reported `unclassified`.
    public enum Reason: String, Sendable, CaseIterable {
        /// No bases, or fewer than `minLength`.
        case tooShort = "too-short"
        /// More than `maxAmbiguousFraction` of the bases are not A/C/G/T (all-`N` reads, protein sequence).
        case ambiguous
        /// More than `maxLowComplexityFraction` of the bases lie in low-complexity windows (see `dustScore`).
        case lowComplexity = "low-complexity"
        /// The model's calibrated confidence is below the threshold.
        case lowConfidence = "low-confidence"
    }

    /// Reads shorter than this are `too-short`. 30 bases: below that a read holds fewer than ten 21-mers and
    /// far less sequence than the models are trained on (150-base windows).
    public var minLength = 30
    /// Share of non-A/C/G/T bases above which a read is `ambiguous`.
    public var maxAmbiguousFraction = 0.5
    /// DUST score (see `dustScore`) above which a 64-base window is low-complexity. A tandem repeat of period p
    /// scores about ½(62/p − 1) there (31 for a homopolymer, 15 for a dinucleotide repeat, 10, 7.4, 5.7 for periods
    /// 3–5), random sequence about 0.5, and sequence of skewed composition (33 % GC) about 0.7: 5 masks the
    /// repeats of period 1–5 and leaves ordinary sequence alone.
    public var dustThreshold = 5.0
    /// Share of bases in low-complexity windows above which the read is `low-complexity`.
    public var maxLowComplexityFraction = 0.5
    /// Window length and step of the DUST scan (sdust's window is 64).
    public var window = 64

    public init() {}

    /// The reason to leave `bases` (ASCII, any case) unclassified, or nil to classify it.
    public func reason(_ bases: [UInt8]) -> Reason? {
        if bases.count < max(1, minLength) { return .tooShort }
        var unknown = 0
        for b in bases where Self.code(b) < 0 { unknown += 1 }
        if Double(unknown) > maxAmbiguousFraction * Double(bases.count) { return .ambiguous }
        if lowComplexityFraction(bases) > maxLowComplexityFraction { return .lowComplexity }
        return nil
    }

    /// Share of bases covered by windows (`window` bases, every `window/2`, the last one flush with the end) whose
    /// DUST score exceeds `dustThreshold`.
    public func lowComplexityFraction(_ bases: [UInt8]) -> Double {
        let n = bases.count
        if n < 3 { return 0 }
        let w = min(window, n), step = max(1, w / 2)
        var starts = Array(stride(from: 0, through: n - w, by: step))
        if starts.last! != n - w { starts.append(n - w) }
        var masked = [Bool](repeating: false, count: n)
        for s in starts where Self.dustScore(bases[s..<(s + w)]) > dustThreshold {
            for i in s..<(s + w) { masked[i] = true }
        }
        return Double(masked.lazy.filter { $0 }.count) / Double(n)
    }

    /// DUST score of a stretch (Morgulis et al. 2006, as in sdust): Σₜ cₜ(cₜ − 1)/2 / (l − 1) over the counts cₜ of
    /// the l overlapping triplets of A/C/G/T (triplets holding another letter are skipped). About 1 for random
    /// sequence, (l − 1)/2 for a homopolymer, about l/4 for a dinucleotide repeat.
    public static func dustScore(_ s: ArraySlice<UInt8>) -> Double {
        var counts = [Int](repeating: 0, count: 64)
        var l = 0
        var i = s.startIndex
        while i + 2 < s.endIndex {
            let a = code(s[i]), b = code(s[i + 1]), c = code(s[i + 2])
            if a >= 0 && b >= 0 && c >= 0 { counts[a * 16 + b * 4 + c] += 1; l += 1 }
            i += 1
        }
        if l < 2 { return 0 }
        let pairs = counts.reduce(0) { $0 + $1 * ($1 - 1) / 2 }
        return Double(pairs) / Double(l - 1)
    }

    /// 0–3 for A/C/G/T (either case), −1 otherwise.
    @inline(__always)
    static func code(_ b: UInt8) -> Int {
        switch b | 0x20 {
        case UInt8(ascii: "a"): return 0
        case UInt8(ascii: "c"): return 1
        case UInt8(ascii: "g"): return 2
        case UInt8(ascii: "t"): return 3
        default: return -1
        }
    }
}
