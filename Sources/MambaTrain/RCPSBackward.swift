import MambaModel

/// The reverse-complement parameter sharing (RCPS) wrappers of Caduceus-PS at the two ends of the network,
/// written as plain loops with their backward passes. E: (V, d) embedding table; comp: (V) complement ids.
///
///   embedding:  h[t] = [E[id_t] | reverse(E[comp(id_t)])]                          h: (T, 2d)
///   LM head:    logits[t, v] = h[t, :d]·W[v] + h[t, d:]·reverse(W[comp(v)])          W: (V, d), logits (T, V)
///               i.e. one product with the (V, 2d) matrix H[v] = [W[v] | reverse(W[comp(v)])]
public enum RCPS {
    /// h (T, 2d) from token ids (T).
    public static func embed(table: UnsafePointer<Float>, vocab: Int, dim d: Int, complement: [Int],
                             ids: UnsafePointer<Int>, count T: Int, h: UnsafeMutablePointer<Float>) {
        for t in 0..<T {
            let id = ids[t]
            precondition(id >= 0 && id < vocab, "token id \(id) outside 0..<\(vocab)")
            let row = h + t * 2 * d, a = table + id * d, b = table + complement[id] * d
            for c in 0..<d { row[c] = a[c]; row[d + c] = b[d - 1 - c] }
        }
    }

    /// dTable += the scatter of dh (T, 2d): both strands' uses of each row add up.
    public static func embedBackward(ids: UnsafePointer<Int>, count T: Int, dim d: Int, complement: [Int],
                                     dh: UnsafePointer<Float>, dTable: UnsafeMutablePointer<Float>) {
        for t in 0..<T {
            let id = ids[t], g = dh + t * 2 * d
            let a = dTable + id * d, b = dTable + complement[id] * d
            for c in 0..<d { a[c] += g[c]; b[d - 1 - c] += g[d + c] }
        }
    }

    /// H (V, 2d) = [W[v] | reverse(W[comp(v)])], the head as one matrix.
    public static func headMatrix(weight: UnsafePointer<Float>, vocab V: Int, dim d: Int, complement: [Int],
                                  into H: UnsafeMutablePointer<Float>) {
        for v in 0..<V {
            let row = H + v * 2 * d, a = weight + v * d, b = weight + complement[v] * d
            for c in 0..<d { row[c] = a[c]; row[d + c] = b[d - 1 - c] }
        }
    }

    /// dWeight += the fold of dH (V, 2d), the gradient of `headMatrix`'s output, back onto W.
    public static func headMatrixBackward(dH: UnsafePointer<Float>, vocab V: Int, dim d: Int, complement: [Int],
                                          dWeight: UnsafeMutablePointer<Float>) {
        for v in 0..<V {
            let g = dH + v * 2 * d, a = dWeight + v * d, b = dWeight + complement[v] * d
            for c in 0..<d { a[c] += g[c]; b[d - 1 - c] += g[d + c] }
        }
    }
}
