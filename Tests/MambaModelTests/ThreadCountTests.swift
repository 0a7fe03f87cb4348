import MambaKernels
import XCTest
@testable import MambaModel

/// One long sequence runs its per-position work in time slices over the threads and its scans over channel
/// blocks. The hidden states must not depend on the thread count beyond float32 rounding (the slices' products
/// see different row counts), with and without state carried across chunks; a call on N threads leaves the
/// model's own `compute` as it was. Bound: max abs difference ≤ 1e-5; measured 0 for 2 and 5 threads and ≤ 1.2e-6 for 16
/// threads with 400-row chunks (slices of 25 rows: OpenBLAS picks another blocking for so few rows).
///
/// Which results are bit-identical: our kernels (scan, conv, norms, fast exp) are compiled for one ISA and give
/// the same bits for the same inputs and thread count on any host. OpenBLAS chooses its sgemm kernels at run
/// time by CPU (`openblas_core`: Cooperlake on AMD EPYC Zen 4), so products, and all that follows them, can
/// differ in the last bits between hosts. Tests therefore compare bits only between two runs in one process,
/// and against stored references only within a tolerance derived from fp32 rounding.
final class ThreadCountTests: XCTestCase {
    func testHiddenStatesDoNotDependOnThreadCount() throws {
        let tokens = randomDNA(1_200, seed: 77)
        for name in ["mamba_lm", "caduceus/caduceus_ph", "caduceus/caduceus_ps", "caduceus/caduceus_ps_unfused"] {
            var model = try MambaCheckpoint.load(Fixtures.dir(name))
            for chunk in [4096, 400] {  // 400: chunks carry conv history and scan state
                model.chunkRows = chunk
                let one = model.hiddenStates(packed: tokens, segments: .single(tokens.count), threads: 1)
                XCTAssertEqual(one.count, tokens.count * model.outputDim)
                XCTAssertFalse(one.contains { !$0.isFinite }, name)
                for threads in [2, 5, 16] {
                    let many = model.hiddenStates(packed: tokens, segments: .single(tokens.count), threads: threads)
                    let err = maxAbsDiff(many, one)
                    print("\(name) chunkRows \(chunk): \(threads) threads vs 1, max abs diff \(err)")
                    XCTAssertLessThanOrEqual(err, 1e-5, "\(name) chunkRows \(chunk) \(threads) threads")
                    XCTAssertEqual(model.compute, .allCores)
                }
            }
        }
    }

    /// Long chunks of a causal stack run as a layer pipeline over the threads (tiles of 256 rows here, each layer's
    /// state passed from tile to tile). Against the same model with the pipeline off, on one thread: one long
    /// chunk with a partial last tile, sequence starts inside it (packed input), and state carried across calls.
    func testLayerPipelineMatchesOneThread() throws {
        var model = try XCTUnwrap(try MambaCheckpoint.load(Fixtures.dir("mamba_lm")) as? MambaLMModel)
        let n = 4_000
        let tokens = randomDNA(n, seed: 91)
        var resets = [UInt8](repeating: 0, count: n)
        for t in [0, 1_000, 1_001, 2_560, 3_999] { resets[t] = 1 }
        func run(pieces: [Int], threads: Int) -> [Float] {
            let enc = StreamingEncoder(model: model, threads: threads)
            var out = [Float](repeating: .nan, count: n * model.config.dModel)
            var a = 0
            for p in pieces {
                tokens.withUnsafeBufferPointer { tk in
                    resets.withUnsafeBufferPointer { rs in
                        out.withUnsafeMutableBufferPointer { o in
                            enc.consume(tk.baseAddress! + a, count: p, resetBefore: rs.baseAddress! + a,
                                        into: o.baseAddress! + a * model.config.dModel)
                        }
                    }
                }
                a += p
            }
            return out
        }
        model.chunkRows = n
        model.pipelineTileRows = 256
        model.layerPipeline = false
        let reference = run(pieces: [n], threads: 1)
        XCTAssertFalse(reference.contains { !$0.isFinite })
        model.layerPipeline = true
        for threads in [2, 16] {
            let workers = model.pipelineWorkers(rows: 3_100, threads: threads)
            XCTAssertEqual(workers, min(threads, 3), "\(threads) threads")
            for pieces in [[n], [3_100, 900]] {
                let err = maxAbsDiff(run(pieces: pieces, threads: threads), reference)
                print("layer pipeline, \(threads) threads, pieces \(pieces): max abs diff vs one thread \(err)")
                XCTAssertLessThanOrEqual(err, 1e-5, "\(threads) threads, pieces \(pieces)")
            }
        }
    }
}
