/// One of N parts of a run (`--shard I/N`, 1-based). Parts are fixed by the input alone, never by the machine:
/// reads by their index in the input (contiguous blocks, so the parts concatenated in order are the whole run),
/// reference chunks by their position on the concatenated regions (blocks balanced by bases).
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int   // 1...count
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (1...count).contains(index) else {
            throw ToolError(file: "--shard", "\(index)/\(count): I/N needs 1 ≤ I ≤ N")
        }
        self.index = index; self.count = count
    }

    /// Parses `I/N`, e.g. `2/3`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ToolError(file: "--shard", "'\(text)': expected I/N with whole numbers, e.g. 2/3")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// The 0-based indices of the records of this part when the input has `total` records: block I of N
    /// contiguous blocks whose sizes differ by at most one.
    public func records(total: Int) -> Range<Int> {
        (total * (index - 1) / count)..<(total * index / count)
    }

    /// Which items of a sequence of lengths belong to this part: the item whose midpoint falls in
    /// [(I−1)·L/N, I·L/N) of the total length L, so the parts are contiguous and balanced by length.
    public func items(lengths: [Int]) -> Range<Int> {
        let total = lengths.reduce(0, +)
        var lower = lengths.count, upper = lengths.count, offset = 0
        for (k, l) in lengths.enumerated() {
            // 2·offset + l < 2·L·I/N  ⇔  the midpoint lies before this part's end (integer arithmetic, no rounding).
            let mid2 = 2 * offset + l
            if lower == lengths.count, mid2 * count >= 2 * total * (index - 1) { lower = k }
            if mid2 * count >= 2 * total * index { upper = k; break }
            offset += l
        }
        return lower..<max(lower, upper)
    }
}
