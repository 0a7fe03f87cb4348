#if !KERNELS_AVX512
internal import MambaKernelsAVX512
#endif

/// `Gemm.linear` for few input features (dt_proj: rank 4–16): y[r] = Σₖ x[r,k]·W[:,k] (+ bias, or + the old y[r]
/// when `accumulate`), k in order, so a row's result does not depend on how many rows come with it. Built twice,
/// like the scan (`KernelISA`): the 8 accumulators of 16 lanes fit AVX-512's 32 registers, not AVX2's 16.
public enum NarrowLinear {
    public static func forward(x: UnsafePointer<Float>, rows: Int, inFeatures k: Int, ldx: Int,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               outFeatures n: Int, y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool) {
        #if !KERNELS_AVX512
        if KernelISA.useAVX512 {
            MambaKernelsAVX512.NarrowLinear.forward(x: x, rows: rows, inFeatures: k, ldx: ldx, weight: weight,
                                                    bias: bias, outFeatures: n, y: y, ldy: ldy, accumulate: accumulate)
            return
        }
        #endif
        typealias V = SIMD16<Float>
        // W (n, k) transposed to (k, n), so that one input feature's weights for 16 outputs are one vector.
        let wt = UnsafeMutablePointer<Float>.allocate(capacity: max(1, k * n))
        defer { wt.deallocate() }
        for o in 0..<n { for j in 0..<k { wt[j * n + o] = weight[o * k + j] } }
        for r in 0..<rows {
            let xr = x + r * ldx, yr = y + r * ldy
            // Where each output's sum starts: the old y (accumulate), the bias, or zero.
            func start(_ o: Int, _ lanes: Int) -> V {
                accumulate ? FastMath.load(yr + o, lanes: lanes) : bias.map { FastMath.load($0 + o, lanes: lanes) } ?? V()
            }
            var o = 0
            // 8 vectors of outputs at a time: 8 independent FMA chains hide the FMA latency (one chain per block
            // waits ~4 cycles per step). Each output still sums k in order, so the bits do not change.
            while o + 128 <= n {
                var a0 = start(o, 16), a1 = start(o + 16, 16), a2 = start(o + 32, 16), a3 = start(o + 48, 16)
                var a4 = start(o + 64, 16), a5 = start(o + 80, 16), a6 = start(o + 96, 16), a7 = start(o + 112, 16)
                for j in 0..<k {
                    let xv = V(repeating: xr[j]), w = UnsafePointer(wt + j * n + o)
                    a0 = a0.addingProduct(xv, FastMath.load(w, lanes: 16))
                    a1 = a1.addingProduct(xv, FastMath.load(w + 16, lanes: 16))
                    a2 = a2.addingProduct(xv, FastMath.load(w + 32, lanes: 16))
                    a3 = a3.addingProduct(xv, FastMath.load(w + 48, lanes: 16))
                    a4 = a4.addingProduct(xv, FastMath.load(w + 64, lanes: 16))
                    a5 = a5.addingProduct(xv, FastMath.load(w + 80, lanes: 16))
                    a6 = a6.addingProduct(xv, FastMath.load(w + 96, lanes: 16))
                    a7 = a7.addingProduct(xv, FastMath.load(w + 112, lanes: 16))
                }
                FastMath.store(a0, yr + o, lanes: 16); FastMath.store(a1, yr + o + 16, lanes: 16)
                FastMath.store(a2, yr + o + 32, lanes: 16); FastMath.store(a3, yr + o + 48, lanes: 16)
                FastMath.store(a4, yr + o + 64, lanes: 16); FastMath.store(a5, yr + o + 80, lanes: 16)
                FastMath.store(a6, yr + o + 96, lanes: 16); FastMath.store(a7, yr + o + 112, lanes: 16)
                o += 128
            }
            while o < n {
                let lanes = Swift.min(16, n - o)
                var acc = start(o, lanes)
                for j in 0..<k { acc = acc.addingProduct(V(repeating: xr[j]), FastMath.load(wt + j * n + o, lanes: lanes)) }
                FastMath.store(acc, yr + o, lanes: lanes)
                o += 16
            }
        }
    }
}
