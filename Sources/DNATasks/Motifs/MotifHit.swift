/// One window whose p-value passed the threshold.
public struct MotifHit: Sendable, Equatable {
    /// Index of the motif in the scanned set.
    public var motif: Int
    /// Index of the sequence (the order sequences were scanned in, or the contig's index in the reference).
    public var sequence: Int
    /// 0-based start of the window on the sequence (or reference); the window is `[start, start + width)`.
    public var start: Int
    /// Window length (the motif width).
    public var width: Int
    /// `true` for the reverse strand (the reverse-complement matrix matched).
    public var reverse: Bool
    /// Exact log-odds score in bits.
    public var score: Double
    /// Discretised score, which the p-value belongs to.
    public var scaledScore: Int
    public var pValue: Double
    /// Benjamini–Hochberg q-value, filled in once every window has been scanned.
    public var qValue: Double
    /// The window's bases read on the hit's strand (reverse-complemented for `-`), case kept.
    public var matched: String

    /// 0-based exclusive end.
    public var end: Int { start + width }
}
