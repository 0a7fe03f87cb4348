import Foundation
import XCTest
@testable import MambaModel

/// A packed batch longer than the model's block size (as `embed` builds them from many reads) must give every
/// read the rows it gets alone: the batch then runs in several blocks, carrying state across block boundaries
/// that fall inside reads. Bound 1e-4 as in ModelPropertyTests (fp32 rounding only; measured ≈ 1e-6).
final class LargePackedBatchTests: XCTestCase {
    func testPackedBatchLargerThanChunkRows() throws {
        var lengths: [Int] = []
        var total = 0, k = 0
        while total < 16_384 {  // 150 bp reads with some odd lengths mixed in, 16,384 bases in all
            let n = min(k % 7 == 3 ? 1 + (k * 37) % 400 : 150, 16_384 - total)
            lengths.append(n); total += n; k += 1
        }
        let reads = lengths.enumerated().map { randomDNA($0.element, seed: UInt64($0.offset + 500)) }
        for name in ["mamba_lm", "caduceus/caduceus_ps"] {
            var model = try MambaCheckpoint.load(Fixtures.dir(name))
            let single = reads.map { model.hiddenStates($0) }.flatMap { $0 }
            for chunk in [model.chunkRows, 2048] {
                model.chunkRows = chunk
                XCTAssertGreaterThan(total, chunk)
                // Two threads: also exercises the kernels' thread splits.
                let packed = model.hiddenStates(packed: reads.flatMap { $0 }, segments: Segments(lengths: lengths), threads: 2)
                let err = maxAbsDiff(packed, single)
                // Mean-pooled vectors, as `embed --pool mean` writes them.
                let W = model.outputDim
                var pooledErr: Float = 0, row = 0
                for n in lengths {
                    for c in 0..<W {
                        var a: Float = 0, b: Float = 0
                        for t in row..<(row + n) { a += packed[t * W + c]; b += single[t * W + c] }
                        pooledErr = max(pooledErr, abs(a - b) / Float(n))
                    }
                    row += n
                }
                print("\(name) chunkRows \(chunk), \(lengths.count) reads, \(total) bases: packed vs alone \(err), pooled \(pooledErr)")
                XCTAssertLessThanOrEqual(err, 1e-4)
                XCTAssertLessThanOrEqual(pooledErr, 1e-4)
            }
        }
    }
}
