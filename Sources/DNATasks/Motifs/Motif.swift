/// A DNA motif as read from a file: per-position counts of A, C, G, T.
///
/// `columns[i]` holds the counts of position `i` (0-based, 5'→3') in the order A, C, G, T.
/// JASPAR matrices are counts already; a MEME probability matrix is stored as probability ×
/// `nsites` (20 when the file gives none, as MEME assumes), so that a pseudocount weighs the
/// same against both kinds of file.
public struct Motif: Sendable, Equatable {
    /// Identifier, e.g. `MA0139.2`.
    public var id: String
    /// Second name, e.g. `CTCF`; empty when the file gives none.
    public var altID: String
    /// `columns[i][b]`: count of base `b` (0 A, 1 C, 2 G, 3 T) at position `i`; every column
    /// has a positive total.
    public var columns: [[Double]]

    public init(id: String, altID: String = "", columns: [[Double]]) {
        self.id = id
        self.altID = altID
        self.columns = columns
    }

    /// Number of positions.
    public var width: Int { columns.count }

    /// Column `i` as probabilities (each column divided by its own total).
    public func probabilities(at i: Int) -> [Double] {
        let total = columns[i].reduce(0, +)
        return columns[i].map { $0 / total }
    }

    /// The motif of the opposite strand: positions reversed and A↔T, C↔G swapped.
    public func reverseComplement() -> Motif {
        Motif(id: id, altID: altID, columns: columns.reversed().map { Array($0.reversed()) })
    }
}
