import MambaKernels
import XCTest
@testable import MambaModel

/// One long sequence runs its per-position work in time slices over the threads and its scans over channel
/// blocks. The hidden states must not depend on the thread count beyond float32 rounding (the slices' products
/// see different row counts), with and without state carried across chunks, and the thread settings must be
/// restored afterwards.
final class ThreadCountTests: XCTestCase {
    func testHiddenStatesDoNotDependOnThreadCount() throws {
        defer { setComputeThreads(ProcessInfo.processInfo.activeProcessorCount) }
        let tokens = randomDNA(1_200, seed: 77)
        for name in ["mamba_lm", "caduceus/caduceus_ph", "caduceus/caduceus_ps", "caduceus/caduceus_ps_unfused"] {
            var model = try MambaCheckpoint.load(Fixtures.dir(name))
            for chunk in [4096, 400] {  // 400: chunks carry conv history and scan state
                model.chunkRows = chunk
                setComputeThreads(1)
                let one = model.hiddenStates(tokens)
                XCTAssertEqual(one.count, tokens.count * model.outputDim)
                XCTAssertFalse(one.contains { !$0.isFinite }, name)
                for threads in [2, 5, 16] {
                    setComputeThreads(threads)
                    let many = model.hiddenStates(tokens)
                    let err = maxAbsDiff(many, one)
                    print("\(name) chunkRows \(chunk): \(threads) threads vs 1, max abs diff \(err)")
                    XCTAssertLessThanOrEqual(err, 1e-5, "\(name) chunkRows \(chunk) \(threads) threads")
                    XCTAssertEqual(KernelThreads.count, threads)
                    XCTAssertEqual(Gemm.threads, threads)
                }
            }
        }
    }
}
