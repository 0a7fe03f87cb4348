import CBLAS

/// Matrix products through CBLAS (OpenBLAS on Linux). All matrices are row-major fp32.
public enum Gemm {
    /// C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C[m,n], row-major.
    /// `transA`/`transB` select op(X) = Xᵀ; `lda`/`ldb`/`ldc` default to the packed row strides.
    @inlinable
    public static func sgemm(transA: Bool = false, transB: Bool = false,
                             m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                             b: UnsafePointer<Float>, ldb: Int? = nil,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
        if m == 0 || n == 0 { return }
        let la = lda ?? (transA ? m : k)
        let lb = ldb ?? (transB ? k : n)
        let lc = ldc ?? n
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(la), b, Int32(lb), beta, c, Int32(lc))
    }

    /// PyTorch `nn.Linear`: y[rows, out] = x[rows, in] · W[out, in]ᵀ (+ bias[out]).
    /// `ldx`/`ldy` allow reading/writing column slices of wider row-major buffers.
    @inlinable
    public static func linear(x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int? = nil,
                              weight: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil,
                              outFeatures: Int, y: UnsafeMutablePointer<Float>, ldy: Int? = nil,
                              accumulate: Bool = false) {
        let ly = ldy ?? outFeatures
        if let bias, !accumulate {
            for r in 0..<rows { (y + r * ly).update(from: bias, count: outFeatures) }
        }
        sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures,
              a: x, lda: ldx ?? inFeatures, b: weight, ldb: inFeatures,
              beta: (bias != nil || accumulate) ? 1 : 0, c: y, ldc: ly)
    }

    /// Number of threads OpenBLAS uses for one product (process-wide setting). Set 1 when the caller
    /// already splits its work over threads, or the two thread pools oversubscribe the cores.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }

    /// Threads OpenBLAS uses now.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The CPU kernel set OpenBLAS chose when it was loaded ("SkylakeX", "Cooperlake", "Haswell", …).
    /// A CPU newer than the library can fall back to the generic "Prescott" (SSE3) kernels, about 3–4x
    /// slower; the environment variable OPENBLAS_CORETYPE (e.g. `SkylakeX`), set before the process
    /// starts, overrides the choice.
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "" }
        return String(cString: p)
    }
}
