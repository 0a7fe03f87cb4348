import CDNNL
import Foundation

/// fp32 `nn.Linear` products through oneDNN's matmul, cut into the row pieces of the bf16 path
/// (`BF16LinearWeights.pieceRows`, the last rows padded to a whole piece), so that a row gets the same bits wherever
/// it sits in a product and however many rows come with it. OpenBLAS cannot promise that: its AVX2 kernel set
/// (`Haswell`, which it runs on AVX2-only CPUs and where `OPENBLAS_CORETYPE=Haswell` is set) rounds a row by its
/// place in the product. `Gemm.linear` takes this path wherever oneDNN has a native fp32 matmul.
enum OneDNNFP32 {
    struct Key: Hashable { var rows, k, n, ldx, ldy: Int; var sum: Bool; var team: Int }
    private static let primitives = OneDNNPrimitives<Key>()

    /// Whether oneDNN builds a native (non-reference) fp32 matmul on this CPU; checked once.
    static let available: Bool = {
        if let v = ProcessInfo.processInfo.environment["MAMBA_DNA_FP32_BLAS"], v == "openblas" { return false }
        switch OneDNN.matmul(rows: 8, inFeatures: 64, outFeatures: 64, ldy: 64, sum: false, fp32: true) {
        case .success(let (p, _)):
            dnnl_primitive_destroy(p)
            return true
        case .failure:
            return false
        }
    }()

    /// The primitive for one piece shape, built once and kept (a model has a handful of shapes); `available` built
    /// one already, so building is not expected to fail.
    static func primitive(_ key: Key) -> OpaquePointer {
        primitives.primitive(key) {
            OneDNN.matmul(rows: key.rows, inFeatures: key.k, outFeatures: key.n, ldy: key.ldy, sum: key.sum,
                          fp32: true, ldx: key.ldx)
        }
    }
}

extension Gemm {
    /// `linear` through oneDNN (see `OneDNNFP32`); false, doing nothing, where oneDNN has no native fp32 matmul.
    @usableFromInline
    static func linearOneDNN(x: UnsafePointer<Float>, rows: Int, inFeatures k: Int, ldx: Int,
                             weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures n: Int,
                             y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool, threads: Int) -> Bool {
        guard OneDNNFP32.available else { return false }
        if let bias, !accumulate { for r in 0..<rows { (y + r * ldy).update(from: bias, count: n) } }
        let sum = bias != nil || accumulate, team = Swift.max(1, threads)
        mamba_dnnl_set_threads(Int32(team))
        OneDNN.multiplyInPieces(rows: rows, inFeatures: k, outFeatures: n, src: UnsafeRawPointer(x), ldx: ldx,
                                elementBytes: 4, weights: UnsafeMutableRawPointer(mutating: weight), dst: y, ldy: ldy,
                                sum: sum) { pieceRows, pieceLdx in
            OneDNNFP32.primitive(.init(rows: pieceRows, k: k, n: n, ldx: pieceLdx, ldy: ldy, sum: sum, team: team))
        }
        return true
    }
}
