import MambaModel

/// Row and channel permutations of the Caduceus training passes, over flat time-major buffers
/// (rows = positions, `ld` = row stride). Each is a permutation, so its backward is the inverse permutation
/// applied to the gradient; `flipRows` and `reverseComplement` are their own inverses, as is `swapHalves`.
/// Single-threaded on purpose: training runs one worker per shard with single-threaded kernels.
public enum StrandOps {
    /// dst[r, :cols] = src[rows−1−r, :cols]   (flip along positions; src and dst must not overlap)
    public static func flipRows(_ src: UnsafePointer<Float>, ld ldSrc: Int, to dst: UnsafeMutablePointer<Float>,
                                ld ldDst: Int, rows: Int, cols: Int) {
        for r in 0..<rows { (dst + r * ldDst).update(from: src + (rows - 1 - r) * ldSrc, count: cols) }
    }

    /// dst[r, c] = src[rows−1−r, cols−1−c]: the RCPS reverse complement of a hidden state (flip positions and
    /// channels). With `accumulate` the result is added to dst. src and dst must not overlap.
    public static func reverseComplement(_ src: UnsafePointer<Float>, ld ldSrc: Int, to dst: UnsafeMutablePointer<Float>,
                                         ld ldDst: Int, rows: Int, cols: Int, accumulate: Bool = false) {
        for r in 0..<rows {
            let s = src + (rows - 1 - r) * ldSrc, d = dst + r * ldDst
            if accumulate { for c in 0..<cols { d[c] += s[cols - 1 - c] } }
            else { for c in 0..<cols { d[c] = s[cols - 1 - c] } }
        }
    }

    /// Exchanges columns [0, half) and [half, 2·half) of every row of a (rows, 2·half) buffer, in place.
    public static func swapHalves(_ x: UnsafeMutablePointer<Float>, rows: Int, half: Int) {
        for r in 0..<rows {
            let a = x + r * 2 * half, b = a + half
            for c in 0..<half { let t = a[c]; a[c] = b[c]; b[c] = t }
        }
    }

    /// dst[r, :cols] = src[r, :cols]
    public static func copyRows(_ src: UnsafePointer<Float>, ld ldSrc: Int, to dst: UnsafeMutablePointer<Float>,
                                ld ldDst: Int, rows: Int, cols: Int) {
        for r in 0..<rows { (dst + r * ldDst).update(from: src + r * ldSrc, count: cols) }
    }

    /// dst[r, :cols] += src[r, :cols]
    public static func addRows(_ src: UnsafePointer<Float>, ld ldSrc: Int, to dst: UnsafeMutablePointer<Float>,
                               ld ldDst: Int, rows: Int, cols: Int) {
        for r in 0..<rows {
            let s = src + r * ldSrc, d = dst + r * ldDst
            for c in 0..<cols { d[c] += s[c] }
        }
    }
}

/// How BiMamba joins its two directions (Caduceus `bidirectional_strategy`):
///   out[t] = f[t] ⊕ rv[T−1−t],   ⊕ = + (add) or · (ew_multiply)
/// where f is the forward mixer's output and rv the reverse mixer's output over the flipped input.
public enum BiMambaCombine {
    /// out (T, cols, row stride ldo) from f, rv (T, cols) contiguous.
    public static func forward(_ strategy: CaduceusConfig.Strategy, f: UnsafePointer<Float>, rv: UnsafePointer<Float>,
                               rows T: Int, cols: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
        for t in 0..<T {
            let a = f + t * cols, b = rv + (T - 1 - t) * cols, o = out + t * ldo
            switch strategy {
            case .add: for c in 0..<cols { o[c] = a[c] + b[c] }
            case .ewMultiply: for c in 0..<cols { o[c] = a[c] * b[c] }
            }
        }
    }

    /// dF, dRv (T, cols) contiguous, overwritten, from dOut (T, cols, row stride ldo):
    /// add: dF[t] = dOut[t], dRv[T−1−t] = dOut[t]; ew_multiply: dF[t] = dOut[t]·rv[T−1−t], dRv[T−1−t] = dOut[t]·f[t].
    public static func backward(_ strategy: CaduceusConfig.Strategy, f: UnsafePointer<Float>, rv: UnsafePointer<Float>,
                                rows T: Int, cols: Int, dOut: UnsafePointer<Float>, ldo: Int,
                                dF: UnsafeMutablePointer<Float>, dRv: UnsafeMutablePointer<Float>) {
        for t in 0..<T {
            let g = dOut + t * ldo, df = dF + t * cols, dr = dRv + (T - 1 - t) * cols
            switch strategy {
            case .add:
                for c in 0..<cols { df[c] = g[c]; dr[c] = g[c] }
            case .ewMultiply:
                let a = f + t * cols, b = rv + (T - 1 - t) * cols
                for c in 0..<cols { df[c] = g[c] * b[c]; dr[c] = g[c] * a[c] }
            }
        }
    }
}
