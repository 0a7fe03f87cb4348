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
            var o = 0
            // 8 vectors of outputs at a time: 8 independent FMA chains hide the FMA latency (one chain per block
            // waits ~4 cycles per step). Each output still sums k in order, so the bits do not change.
            while o + 128 <= n {
                var a0, a1, a2, a3, a4, a5, a6, a7: V
                if accumulate {
                    a0 = FastMath.load(yr + o, lanes: 16); a1 = FastMath.load(yr + o + 16, lanes: 16)
                    a2 = FastMath.load(yr + o + 32, lanes: 16); a3 = FastMath.load(yr + o + 48, lanes: 16)
                    a4 = FastMath.load(yr + o + 64, lanes: 16); a5 = FastMath.load(yr + o + 80, lanes: 16)
                    a6 = FastMath.load(yr + o + 96, lanes: 16); a7 = FastMath.load(yr + o + 112, lanes: 16)
                } else if let bias {
                    a0 = FastMath.load(bias + o, lanes: 16); a1 = FastMath.load(bias + o + 16, lanes: 16)
                    a2 = FastMath.load(bias + o + 32, lanes: 16); a3 = FastMath.load(bias + o + 48, lanes: 16)
                    a4 = FastMath.load(bias + o + 64, lanes: 16); a5 = FastMath.load(bias + o + 80, lanes: 16)
                    a6 = FastMath.load(bias + o + 96, lanes: 16); a7 = FastMath.load(bias + o + 112, lanes: 16)
                } else {
                    a0 = V(); a1 = V(); a2 = V(); a3 = V(); a4 = V(); a5 = V(); a6 = V(); a7 = V()
                }
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
                var acc = accumulate ? FastMath.load(yr + o, lanes: lanes)
                                     : bias.map { FastMath.load($0 + o, lanes: lanes) } ?? V()
                for j in 0..<k { acc = acc.addingProduct(V(repeating: xr[j]), FastMath.load(wt + j * n + o, lanes: lanes)) }
                FastMath.store(acc, yr + o, lanes: lanes)
                o += 16
            }
        }
    }
}
