/// Backward pass of `Gemm.linear` (PyTorch `nn.Linear`, y = x·Wᵀ + b), through `Gemm.sgemm`.
///
/// Shapes: x: (rows, in) with row stride ldx; W: (out, in); dy: (rows, out) with row stride lddy;
/// dx: (rows, in) with row stride lddx; dW: (out, in); db: (out).
///   dx  = dy·W          (overwritten, or added to when `accumulateInput`)
///   dW += dyᵀ·x         (always accumulated, so calls over several batches or tied uses sum)
///   db += Σ_rows dy
public enum LinearBackward {
    public static func backward(x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int? = nil,
                                weight: UnsafePointer<Float>, outFeatures: Int,
                                dy: UnsafePointer<Float>, lddy: Int? = nil,
                                dx: UnsafeMutablePointer<Float>?, lddx: Int? = nil, accumulateInput: Bool = false,
                                dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>? = nil) {
        let lgy = lddy ?? outFeatures
        if rows == 0 {
            return
        }
        if let dx {
            Gemm.sgemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: lgy, b: weight, ldb: inFeatures,
                       beta: accumulateInput ? 1 : 0, c: dx, ldc: lddx ?? inFeatures)
        }
        if let dWeight {
            Gemm.sgemm(transA: true, m: outFeatures, n: inFeatures, k: rows, a: dy, lda: lgy,
                       b: x, ldb: ldx ?? inFeatures, beta: 1, c: dWeight, ldc: inFeatures)
        }
        if let dBias {
            for r in 0..<rows {
                let g = dy + r * lgy
                for o in 0..<outFeatures { dBias[o] += g[o] }
            }
        }
    }
}
