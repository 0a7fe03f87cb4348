#if !KERNELS_AVX512
internal import MambaKernelsAVX512
#endif

/// Causal depthwise 1-D convolution, time-major: x and y are (length, channels).
///
/// PyTorch `nn.Conv1d(C, C, K, groups: C, padding: K-1)` followed by `[..., :L]`:
/// y[t,c] = bias[c] + Σ_{j<K} weight[c,j] · x[t − (K−1) + j, c], with x[<0] taken from `history`
/// (the K−1 rows before t = 0; zeros when nil). Weight layout is PyTorch's (C, 1, K) = (C, K).
/// Packed batches: where `resetBefore[t] != 0` a new sequence starts at t, and rows before t count as zeros.
/// Row t of x is at `x + t·ldx` (ldx defaults to `channels`; a negative ldx reads a buffer backwards, so a
/// reversed sequence needs no flipped copy). y is always contiguous. `silu: true` applies SiLU to every output
/// (the mixer's activation, fused to save a pass over memory).
public enum CausalConv1d {
    /// Plain reference version. `history`: (K−1, channels) or nil.
    public static func forwardReference(x: UnsafePointer<Float>, ldx: Int? = nil, length: Int, channels: Int,
                                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, kernelSize: Int,
                                        history: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                        resetBefore: UnsafePointer<UInt8>? = nil, silu: Bool = false) {
        let k = kernelSize, ld = ldx ?? channels
        var start = Int.min  // first row of the current packed sequence (history usable only if none)
        for t in 0..<length {
            if let resetBefore, resetBefore[t] != 0 { start = t }
            for c in 0..<channels {
                var acc = bias?[c] ?? 0
                for j in 0..<k {
                    let s = t - (k - 1) + j
                    let v: Float
                    if s < start && start != Int.min { v = 0 }
                    else if s >= 0 { v = x[s * ld + c] }
                    else if let history { v = history[(k - 1 + s) * channels + c] } else { v = 0 }
                    acc += weight[c * k + j] * v
                }
                y[t * channels + c] = silu ? Activation.silu(acc) : acc
            }
        }
    }

    /// Fast version (same contract as `forwardReference`): SIMD16 across channels, rows split over
    /// `threads` threads. Sums are taken in the same order as the reference, so results match it to
    /// float32 rounding of the fused multiply-adds (and the polynomial SiLU of `FastMath`, ≈1e-6 relative).
    public static func forward(x: UnsafePointer<Float>, ldx: Int? = nil, length: Int, channels: Int,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, kernelSize: Int,
                               history: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                               resetBefore: UnsafePointer<UInt8>? = nil, silu: Bool = false,
                               threads: Int = 1) {
        if length <= 0 || channels <= 0 { return }
        // Rows are independent; split them when there is enough work (~64K outputs ≈ tens of µs).
        let parts = length * channels < 65_536 ? 1 : Swift.max(1, Swift.min(threads, length / 16))
        nonisolated(unsafe) let y = y
        Parallel.run(parts) { p in
            forwardRows((p * length / parts)..<((p + 1) * length / parts), x: x, ldx: ldx, length: length,
                        channels: channels, weight: weight, bias: bias, kernelSize: kernelSize, history: history,
                        y: y, resetBefore: resetBefore, silu: silu)
        }
    }

    /// Floats that `transposeTaps` writes for `channels` channels and kernel size K: (K + 1, channels).
    public static func tapsCount(channels: Int, kernelSize: Int) -> Int { (Swift.max(kernelSize, 0) + 1) * channels }

    /// The taps weight (C, K) transposed to (K, C), so that one tap of 16 channels is one vector load, and a zero
    /// row after them that stands in for rows before a packed sequence starts (or before t = 0 without history).
    public static func transposeTaps(_ weight: UnsafePointer<Float>, channels ch: Int, kernelSize k: Int,
                                     into wT: UnsafeMutablePointer<Float>) {
        for c in 0..<ch { for j in 0..<k { wT[j * ch + c] = weight[c * k + j] } }
        (wT + k * ch).update(repeating: 0, count: ch)
    }

    /// Rows `rows` (0-based, half-open) of `forward`'s output, on the calling thread; y row t goes to `y + t·channels`
    /// as in `forward`, and x, history and resetBefore are the whole buffer's (not offset to rows.lowerBound).
    /// Reads x rows up to K−1 before rows.lowerBound (the halo) and `resetBefore` back to the start of the
    /// packed sequence containing rows.lowerBound, so the row ranges of one buffer can run on separate threads.
    /// `taps`: `transposeTaps` of weight, when the caller keeps them (else they are made here, in a heap block).
    public static func forwardRows(_ rows: Range<Int>, x: UnsafePointer<Float>, ldx: Int? = nil, length: Int,
                                   channels: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                   kernelSize: Int, history: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                   resetBefore: UnsafePointer<UInt8>? = nil, silu: Bool = false,
                                   taps: UnsafePointer<Float>? = nil) {
        #if !KERNELS_AVX512
        if KernelISA.useAVX512 {
            MambaKernelsAVX512.CausalConv1d.forwardRows(
                rows, x: x, ldx: ldx, length: length, channels: channels, weight: weight, bias: bias,
                kernelSize: kernelSize, history: history, y: y, resetBefore: resetBefore, silu: silu, taps: taps)
            return
        }
        #endif
        let k = kernelSize, ch = channels, ld = ldx ?? channels
        precondition(rows.lowerBound >= 0 && rows.upperBound <= length)
        if rows.isEmpty || ch <= 0 { return }
        if k <= 0 {  // empty kernel: bias only
            for t in rows {
                for c in 0..<ch { let b = bias?[c] ?? 0; y[t * ch + c] = silu ? Activation.silu(b) : b }
            }
            return
        }
        var own: UnsafeMutablePointer<Float>? = nil
        if taps == nil {
            own = .allocate(capacity: tapsCount(channels: ch, kernelSize: k))
            transposeTaps(weight, channels: ch, kernelSize: k, into: own!)
        }
        defer { own?.deallocate() }
        let wT = taps ?? UnsafePointer(own!), zeros = wT + k * ch

        let t0 = rows.lowerBound
        // First row of the packed sequence that contains t0 (Int.min: none started yet).
        var start = Int.min
        if let resetBefore {
            var t = t0
            while t >= 0 { if resetBefore[t] != 0 { start = t; break }; t -= 1 }
        }
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: k) { src in
            for t in rows {
                if let resetBefore, resetBefore[t] != 0 { start = t }
                for j in 0..<k {
                    let s = t - (k - 1) + j
                    if start != Int.min && s < start { src[j] = UnsafePointer(zeros) }
                    else if s >= 0 { src[j] = x + s * ld }
                    else if let history { src[j] = history + (k - 1 + s) * ch }
                    else { src[j] = UnsafePointer(zeros) }
                }
                let yr = y + t * ch
                var c = 0
                while c < ch {
                    let lanes = Swift.min(16, ch - c)
                    var acc = bias.map { FastMath.load($0 + c, lanes: lanes) } ?? SIMD16<Float>()
                    for j in 0..<k {
                        acc = acc.addingProduct(FastMath.load(wT + j * ch + c, lanes: lanes),
                                                FastMath.load(src[j] + c, lanes: lanes))
                    }
                    FastMath.store(silu ? FastMath.silu(acc) : acc, yr + c, lanes: lanes)
                    c += 16
                }
            }
        }
    }
}
