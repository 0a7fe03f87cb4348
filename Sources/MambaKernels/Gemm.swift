import CBLAS

/// Matrix products through CBLAS (OpenBLAS on Linux). All matrices are row-major fp32.
public enum Gemm {
    /// C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C[m,n], row-major.
    /// `transA`/`transB` select op(X) = Xᵀ; `lda`/`ldb`/`ldc` default to the packed row strides. `threads`: OpenBLAS
    /// threads for this product (1 inside a worker of a larger fan-out); the result does not depend on it.
    @inlinable
    public static func sgemm(transA: Bool = false, transB: Bool = false,
                             m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                             b: UnsafePointer<Float>, ldb: Int? = nil,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil, threads: Int = 1) {
        if m == 0 || n == 0 { return }
        useThreads(threads)
        let la = lda ?? (transA ? m : k)
        let lb = ldb ?? (transB ? k : n)
        let lc = ldc ?? n
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(la), b, Int32(lb), beta, c, Int32(lc))
    }

    /// PyTorch `nn.Linear`: y[rows, out] = x[rows, in] · W[out, in]ᵀ (+ bias[out]).
    /// `ldx`/`ldy` allow reading/writing column slices of wider row-major buffers.
    ///
    /// Every row gets the same bits wherever it sits in the product and however many rows come with it (packed reads
    /// get what they get alone): few input features (`narrowInputLimit`) go to `NarrowLinear` and a small weight
    /// (`out·in ≤ rowwiseWeightLimit`) row by row to `linearRowwise`, the same code for any row count; the rest to
    /// oneDNN's fp32 matmul in fixed row pieces (`linearOneDNN`). Only where oneDNN has no native fp32 matmul does it
    /// go to OpenBLAS: a small product padded with zero rows past `smallProductLimit` (its small-matrix kernels round
    /// otherwise), a bigger one as it is. OpenBLAS's AVX-512 kernel sets keep the promise that way; its AVX2 ones
    /// (Haswell, Zen) round a row by its place in the product.
    @inlinable
    public static func linear(x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int? = nil,
                              weight: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil,
                              outFeatures: Int, y: UnsafeMutablePointer<Float>, ldy: Int? = nil,
                              accumulate: Bool = false, threads: Int = 1) {
        let ly = ldy ?? outFeatures, lx = ldx ?? inFeatures
        if rows == 0 || outFeatures == 0 { return }
        if inFeatures <= narrowInputLimit {
            NarrowLinear.forward(x: x, rows: rows, inFeatures: inFeatures, ldx: lx, weight: weight, bias: bias,
                                 outFeatures: outFeatures, y: y, ldy: ly, accumulate: accumulate)
            return
        }
        if outFeatures * inFeatures <= rowwiseWeightLimit {
            linearRowwise(x: x, rows: rows, inFeatures: inFeatures, ldx: lx, weight: weight, bias: bias,
                          outFeatures: outFeatures, y: y, ldy: ly, accumulate: accumulate)
            return
        }
        if linearOneDNN(x: x, rows: rows, inFeatures: inFeatures, ldx: lx, weight: weight, bias: bias,
                        outFeatures: outFeatures, y: y, ldy: ly, accumulate: accumulate, threads: threads) { return }
        if rows * outFeatures * inFeatures <= smallProductLimit {
            let padded = smallProductLimit / (outFeatures * inFeatures) + 1
            let xp = UnsafeMutablePointer<Float>.allocate(capacity: padded * inFeatures)
            let yp = UnsafeMutablePointer<Float>.allocate(capacity: padded * outFeatures)
            defer { xp.deallocate(); yp.deallocate() }
            xp.initialize(repeating: 0, count: padded * inFeatures)
            yp.initialize(repeating: 0, count: padded * outFeatures)
            for r in 0..<rows {
                (xp + r * inFeatures).update(from: x + r * lx, count: inFeatures)
                if accumulate { (yp + r * outFeatures).update(from: y + r * ly, count: outFeatures) }
            }
            linearBLAS(x: xp, rows: padded, inFeatures: inFeatures, ldx: inFeatures, weight: weight, bias: bias,
                       outFeatures: outFeatures, y: yp, ldy: outFeatures, accumulate: accumulate, threads: threads)
            for r in 0..<rows { (y + r * ly).update(from: yp + r * outFeatures, count: outFeatures) }
            return
        }
        linearBLAS(x: x, rows: rows, inFeatures: inFeatures, ldx: lx, weight: weight, bias: bias,
                   outFeatures: outFeatures, y: y, ldy: ly, accumulate: accumulate, threads: threads)
    }

    /// Products of at most this many multiply-adds are padded with zero rows (OpenBLAS's small-matrix kernels take
    /// products up to 10⁶; the margin covers its other CPU kernel sets).
    public static let smallProductLimit = 1 << 21
    /// Weights of at most this many entries are applied row by row (`linearRowwise`).
    public static let rowwiseWeightLimit = 4096

    @usableFromInline
    static func linearBLAS(x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int,
                           weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                           outFeatures: Int, y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool, threads: Int) {
        if let bias, !accumulate {
            for r in 0..<rows { (y + r * ldy).update(from: bias, count: outFeatures) }
        }
        sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures,
              a: x, lda: ldx, b: weight, ldb: inFeatures,
              beta: (bias != nil || accumulate) ? 1 : 0, c: y, ldc: ldy, threads: threads)
    }

    /// Weights with at most this many input features (dt_proj: rank 4–16) are applied by `NarrowLinear`: 4–16
    /// multiply-adds per output cost less there than one BLAS call per row or a padded sgemm.
    public static let narrowInputLimit = 16

    /// `linear` for small weights, one row at a time: y[r] = W · x[r] (+ bias, or + the old y[r] when `accumulate`)
    /// through one matrix-vector product per row, so a row's sum does not depend on how many rows there are.
    public static func linearRowwise(x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int,
                                     weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                     outFeatures: Int, y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool) {
        let n = Int32(outFeatures), k = Int32(inFeatures)
        let beta: Float = (bias != nil || accumulate) ? 1 : 0
        useThreads(1)
        for r in 0..<rows {
            let yr = y + r * ldy
            if let bias, !accumulate { yr.update(from: bias, count: outFeatures) }
            cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1, weight, k, x + r * ldx, 1, beta, yr, 1)
        }
    }

    /// Sets OpenBLAS's process-wide thread count to `n` before a product, when it differs (a read, no write, in the
    /// common case of many one-thread products from several workers).
    @inlinable
    public static func useThreads(_ n: Int) {
        let n = Int32(max(1, n))
        if openblas_get_num_threads() != n { openblas_set_num_threads(n) }
    }

    /// The thread count OpenBLAS was last set to (by the last product's `threads`).
    public static var lastThreads: Int { Int(openblas_get_num_threads()) }

    /// The CPU kernel set OpenBLAS chose when it was loaded ("SkylakeX", "Cooperlake", "Haswell", …).
    /// A CPU newer than the library can fall back to the generic "Prescott" (SSE3) kernels, about 3–4x
    /// slower; the environment variable OPENBLAS_CORETYPE (e.g. `SkylakeX`), set before the process
    /// starts, overrides the choice.
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "" }
        return String(cString: p)
    }
}
