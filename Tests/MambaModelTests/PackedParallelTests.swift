import MambaKernels
import XCTest
@testable import MambaModel

/// Threads over sequences (`PackedParallel`): a packed batch run in blocks of whole reads shared out over threads
/// must give exactly the rows of the one-thread run, and leave the thread settings as it found them.
final class PackedParallelTests: XCTestCase {
    func testBlocksCoverTheBatchAtSequenceStarts() {
        let cases: [[Int]] = [[150, 150, 150, 150, 150], [1, 2, 3], [400, 1, 1, 1, 1], [7], [5, 5], [150, 1, 2, 3, 77, 150, 40, 5]]
        for lengths in cases {
            let s = Segments(lengths: lengths)
            for rows in [1, 2, 5, 150, 151, 300, 1000] {
                var row = 0, sequences: [Int] = []
                for (offset, segs) in s.blocks(rows: rows) {
                    XCTAssertEqual(offset, row)
                    XCTAssertEqual(segs.starts.first, 0)
                    XCTAssertTrue(segs.length <= rows || segs.starts.count == 1, "\(lengths) rows \(rows)")
                    sequences += segs.lengths
                    row += segs.length
                }
                XCTAssertEqual(row, s.length)
                XCTAssertEqual(sequences, lengths)
            }
        }
        XCTAssertEqual(Segments(lengths: Array(repeating: 150, count: 54)).blocks(rows: 1024).map(\.segments.length),
                       Array(repeating: 900, count: 9))
        // A batch one read dominates runs as one threaded pass.
        let even = Segments(lengths: Array(repeating: 150, count: 54)).blocks(rows: 1024)
        XCTAssertTrue(PackedParallel.isParallel(even, threads: 2))
        XCTAssertFalse(PackedParallel.isParallel(even, threads: 1))
        XCTAssertFalse(PackedParallel.isParallel(Segments(lengths: [10_000, 150, 150]).blocks(rows: 1024), threads: 2))
    }

    func testParallelPackedEqualsOneThreadPacked() throws {
        var lengths: [Int] = []
        var total = 0, k = 0
        while total < 6_000 {  // 150 bp reads with odd lengths mixed in
            let n = k % 5 == 2 ? 1 + (k * 53) % 300 : 150
            lengths.append(n); total += n; k += 1
        }
        let reads = lengths.enumerated().map { randomDNA($0.element, seed: UInt64($0.offset + 900)) }
        let tokens = reads.flatMap { $0 }, segments = Segments(lengths: lengths)
        for name in ["mamba_lm", "mamba_hf", "caduceus/caduceus_ph", "caduceus/caduceus_ps"] {
            var model = try MambaCheckpoint.load(Fixtures.dir(name))
            for chunk in [model.chunkRows, 200] {  // 200: blocks and reads longer than a chunk stream in pieces
                model.chunkRows = chunk
                let serial = model.hiddenStates(packed: tokens, segments: segments, threads: 1)
                let blocks = segments.blocks(rows: PackedParallel.blockRows(chunkRows: chunk))
                for threads in [2, 3, 8] {
                    XCTAssertTrue(PackedParallel.isParallel(blocks, threads: threads))
                    let parallel = model.hiddenStates(packed: tokens, segments: segments, threads: threads)
                    print("\(name) chunkRows \(chunk), \(threads) threads, \(lengths.count) reads in \(blocks.count) blocks: parallel vs one-thread \(maxAbsDiff(parallel, serial))")
                    XCTAssertTrue(parallel == serial, "\(name) \(threads) threads: rows differ")
                }
            }
        }
    }
}
