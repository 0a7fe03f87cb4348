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

/// How far one stage of a pipeline has got: the number of work items it has finished. A later stage waits until
/// the item it needs is done. Items take milliseconds, so a condition variable's wake-up cost does not matter.
public final class StageProgress: @unchecked Sendable {
    private let condition = NSCondition()
    private var finished = 0

    public init() {}

    /// Records that items 0..<count are done and wakes the waiters.
    public func publish(_ count: Int) {
        condition.lock()
        finished = count
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until at least `count` items are done.
    public func wait(atLeast count: Int) {
        condition.lock()
        while finished < count { condition.wait() }
        condition.unlock()
    }
}
