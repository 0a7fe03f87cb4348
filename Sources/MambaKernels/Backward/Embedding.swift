/// Token embedding lookup and its backward (scatter-add).
/// Shapes: table, dTable: (vocab, dim); ids: (count); y, dy: (count, dim).
public enum Embedding {
    /// y[i] = table[ids[i]].
    public static func forward(table: UnsafePointer<Float>, vocab: Int, dim: Int, ids: UnsafePointer<Int>, count: Int,
                               y: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let id = ids[i]
            precondition(id >= 0 && id < vocab, "token id \(id) outside 0..<\(vocab)")
            (y + i * dim).update(from: table + id * dim, count: dim)
        }
    }

    /// dTable[ids[i]] += dy[i]: a row used several times gets the sum; rows never used are untouched.
    public static func backward(ids: UnsafePointer<Int>, count: Int, dim: Int, dy: UnsafePointer<Float>,
                                dTable: UnsafeMutablePointer<Float>, vocab: Int) {
        for i in 0..<count {
            let id = ids[i]
            precondition(id >= 0 && id < vocab, "token id \(id) outside 0..<\(vocab)")
            let g = dy + i * dim, row = dTable + id * dim
            for c in 0..<dim { row[c] += g[c] }
        }
    }
}
