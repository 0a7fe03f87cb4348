import CDNNL
import Foundation

/// fp32 `nn.Linear` products through oneDNN's matmul, cut into the row pieces of the bf16 path
/// (`BF16LinearWeights.pieceRows`, the last rows padded to a whole piece), so that a row gets the same bits wherever
/// it sits in a product and however many rows come with it. OpenBLAS cannot promise that: its AVX2 kernel set
/// (`Haswell`, which it runs on AVX2-only CPUs and where `OPENBLAS_CORETYPE=Haswell` is set) rounds a row by its
/// place in the product. `Gemm.linear` takes this path wherever oneDNN has a native fp32 matmul.
enum OneDNNFP32 {
    struct Key: Hashable { var rows, k, n, ldx, ldy: Int; var sum: Bool; var team: Int }
    nonisolated(unsafe) private static var primitives: [Key: OpaquePointer] = [:]
    private static let lock = NSLock()

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

    /// The primitive for one piece shape, built once and kept (a model has a handful of shapes).
    static func primitive(_ key: Key) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let p = primitives[key] { return p }
        switch OneDNN.matmul(rows: key.rows, inFeatures: key.k, outFeatures: key.n, ldy: key.ldy, sum: key.sum,
                             fp32: true, ldx: key.ldx) {
        case .success(let (p, _)):
            primitives[key] = p
            return p
        case .failure(let why):
            // `available` built one of these already, so this is not expected.
            fatalError("oneDNN fp32 matmul (\(key.rows)×\(key.k))·(\(key.k)×\(key.n)): \(why)")
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
        let w = UnsafeMutableRawPointer(mutating: weight)
        mamba_dnnl_set_threads(Int32(team))
        var r = 0
        for piece in BF16LinearWeights.pieceRows {
            while rows - r >= piece {
                let key = OneDNNFP32.Key(rows: piece, k: k, n: n, ldx: ldx, ldy: ldy, sum: sum, team: team)
                OneDNN.execute(OneDNNFP32.primitive(key), src: UnsafeMutableRawPointer(mutating: x + r * ldx),
                               weights: w, dst: y + r * ldy)
                r += piece
            }
        }
        let left = rows - r, last = BF16LinearWeights.pieceRows.last!
        guard left > 0 else { return true }
        // The last rows, padded with zero rows to a whole piece.
        let srcPad = UnsafeMutablePointer<Float>.allocate(capacity: last * k)
        let dstPad = UnsafeMutablePointer<Float>.allocate(capacity: last * n)
        defer { srcPad.deallocate(); dstPad.deallocate() }
        srcPad.initialize(repeating: 0, count: last * k)
        dstPad.initialize(repeating: 0, count: last * n)
        for i in 0..<left {
            (srcPad + i * k).update(from: x + (r + i) * ldx, count: k)
            if sum { (dstPad + i * n).update(from: y + (r + i) * ldy, count: n) }
        }
        let key = OneDNNFP32.Key(rows: last, k: k, n: n, ldx: k, ldy: n, sum: sum, team: team)
        OneDNN.execute(OneDNNFP32.primitive(key), src: UnsafeMutableRawPointer(srcPad), weights: w, dst: dstPad)
        for i in 0..<left { (y + (r + i) * ldy).update(from: dstPad + i * n, count: n) }
        return true
    }
}
