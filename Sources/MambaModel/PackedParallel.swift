import Foundation
import MambaKernels

extension Segments {
    /// The sequences in blocks of consecutive whole sequences of at most `rows` rows each (a longer sequence
    /// makes a block of its own): each block's first row in this buffer and its own segmentation.
    public func blocks(rows: Int) -> [(offset: Int, segments: Segments)] {
        let limit = Swift.max(1, rows)
        var out: [(offset: Int, segments: Segments)] = []
        var first = 0  // index into starts of the block's first sequence
        while first < starts.count {
            let a = starts[first]
            var next = first + 1
            while next < starts.count {
                let end = next + 1 < starts.count ? starts[next + 1] : length
                if end - a > limit { break }
                next += 1
            }
            let b = next < starts.count ? starts[next] : length
            out.append((a, Segments(length: b - a, starts: starts[first..<next].map { $0 - a })))
            first = next
        }
        return out
    }
}

/// How a packed batch runs. Its sequences are cut into blocks of whole sequences (`Segments.blocks`, at most
/// `blockRows` rows unless one sequence is longer), and every block runs through the whole stack on its own,
/// starting from zero state. With several threads and several blocks of about even size, the blocks are shared
/// out to one worker per thread, each with its own workspace and with single-threaded kernels and products
/// (threads over sequences: for short reads this scales far better than splitting every product and scan);
/// otherwise they run one after another on the calling thread with the kernels' own thread splits.
/// The blocks do not depend on the thread count, and single-threaded kernels give every row the same bits
/// wherever it runs, so the output of the parallel run equals that of the one-thread run exactly.
enum PackedParallel {
    /// Rows per block: whole sequences up to this many rows go through the stack together.
    static func blockRows(chunkRows: Int) -> Int { Swift.max(1, Swift.min(chunkRows, 1024)) }

    /// Runs `body(worker, offset, segments)` for every block: `makeWorker(threads)` gives each worker its workspace
    /// and the threads its kernels run on (1 for a worker of several; all `threads` when the blocks run in turn).
    static func run<Worker>(_ blocks: [(offset: Int, segments: Segments)], threads: Int, makeWorker: (Int) -> Worker,
                            _ body: (Worker, Int, Segments) -> Void) {
        guard isParallel(blocks, threads: threads) else {
            let w = makeWorker(threads)
            for (offset, segs) in blocks { body(w, offset, segs) }
            return
        }
        let lock = NSLock()
        nonisolated(unsafe) var next = 0
        Parallel.run(Swift.min(threads, blocks.count)) { _ in
            let w = makeWorker(1)
            while true {
                lock.lock()
                let i = next
                next += 1
                lock.unlock()
                if i >= blocks.count { break }
                body(w, blocks[i].offset, blocks[i].segments)
            }
        }
    }

    /// True when `run` uses threads over sequences: two or more workers, and no block much more than a
    /// worker's share (a dominant long sequence runs faster with every thread on it).
    static func isParallel(_ blocks: [(offset: Int, segments: Segments)], threads: Int) -> Bool {
        let workers = Swift.min(threads, blocks.count)
        let total = blocks.reduce(0) { $0 + $1.segments.length }
        let largest = blocks.map(\.segments.length).max() ?? 0
        return workers >= 2 && Double(largest) * Double(workers) <= 1.25 * Double(total)
    }
}
