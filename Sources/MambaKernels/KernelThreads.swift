import Dispatch
import Foundation

/// How many threads the multi-threaded kernels use by default (their `threads:` parameter).
///
/// Set it to 1 when the caller already runs kernels on several threads itself. OpenBLAS keeps its
/// own pool; see `Gemm.setThreads`.
public enum KernelThreads {
    nonisolated(unsafe) public static var count: Int = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body(i)` for i in 0..<parts, on the calling thread when parts is 1.
    @inlinable
    public static func run(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 { body(0); return }
        DispatchQueue.concurrentPerform(iterations: parts, execute: body)
    }

    private static let singleLock = NSLock()
    nonisolated(unsafe) private static var singleDepth = 0
    nonisolated(unsafe) private static var savedKernelThreads = 1
    nonisolated(unsafe) private static var savedGemmThreads = 1

    /// Runs `body(threads)` with the kernels' default thread count and OpenBLAS both set to 1 meanwhile, then
    /// restores both; `threads` is the kernels' default count on entry (1 inside another such call). Callers that
    /// split their own work over threads use it so that products inside their workers stay single-threaded and
    /// OpenBLAS's pool never competes with theirs for the cores. Overlapping calls from several threads nest:
    /// the settings come back when the last one ends.
    public static func withSingleThreadedKernels<R>(_ body: (_ threads: Int) -> R) -> R {
        singleLock.lock()
        let threads = count
        if singleDepth == 0 {
            savedKernelThreads = count
            savedGemmThreads = Gemm.threads
            count = 1
            Gemm.setThreads(1)
        }
        singleDepth += 1
        singleLock.unlock()
        defer {
            singleLock.lock()
            singleDepth -= 1
            if singleDepth == 0 {
                count = savedKernelThreads
                Gemm.setThreads(savedGemmThreads)
            }
            singleLock.unlock()
        }
        return body(threads)
    }

    /// Runs `body(i)` for i in 0..<parts on `parts` threads inside `withSingleThreadedKernels` (each worker is
    /// one core's worth of work); on the calling thread, with the settings untouched, when parts is 1.
    public static func runSingleThreadedWorkers(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 { body(0); return }
        withSingleThreadedKernels { _ in DispatchQueue.concurrentPerform(iterations: parts, execute: body) }
    }

    /// Runs `body(range)` over `rows` rows split into up to `threads` contiguous ranges of at least `minRows` rows,
    /// one per worker, as `runSingleThreadedWorkers`. The ranges depend only on rows, threads and minRows.
    public static func runRowSlices(_ rows: Int, threads: Int, minRows: Int = 32, _ body: (Range<Int>) -> Void) {
        let parts = Swift.max(1, Swift.min(threads, rows / Swift.max(1, minRows)))
        if parts <= 1 { body(0..<rows); return }
        runSingleThreadedWorkers(parts) { p in body((p * rows / parts)..<((p + 1) * rows / parts)) }
    }
}

/// A wavefront of work items (g, t) on a grid of `groups` × `tiles`: item (g, t) may run once (g − 1, t) and
/// (g, t − 1) are done — e.g. g a layer that carries state from tile to tile, t a tile of rows that passes from
/// layer to layer. Workers take any ready item, preferring their own group (its data stays in their cache), so a
/// slow core delays whichever group it holds at the moment instead of always the same one. Items take
/// milliseconds, so one lock and a condition variable cost nothing that matters.
public final class WavefrontSchedule: @unchecked Sendable {
    private let condition = NSCondition()
    private var done: [Int]      // tiles finished, per group
    private var running: [Bool]  // a tile of the group is being worked on
    private let tiles: Int

    public init(groups: Int, tiles: Int) {
        done = Array(repeating: 0, count: groups)
        running = Array(repeating: false, count: groups)
        self.tiles = tiles
    }

    /// The next item to run, `home`'s if it is ready, else the ready group furthest behind; blocks while none is
    /// ready. nil once every item is finished or taken. Call `finish(group:)` after running it.
    public func next(home: Int) -> (group: Int, tile: Int)? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            func ready(_ g: Int) -> Bool {
                !running[g] && done[g] < tiles && (g == 0 || done[g - 1] > done[g])
            }
            var pick = ready(home) ? home : -1
            if pick < 0 {
                for g in done.indices where ready(g) && (pick < 0 || done[g] < done[pick]) { pick = g }
            }
            if pick >= 0 {
                running[pick] = true
                return (pick, done[pick])
            }
            if done.indices.allSatisfy({ done[$0] + (running[$0] ? 1 : 0) >= tiles }) { return nil }
            condition.wait()
        }
    }

    /// Records that the item `next` gave for `group` is done.
    public func finish(group: Int) {
        condition.lock()
        done[group] += 1
        running[group] = false
        condition.broadcast()
        condition.unlock()
    }
}
