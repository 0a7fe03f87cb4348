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

    /// Runs `body(i)` for i in 0..<parts on `parts` threads, with the kernels' default thread count and
    /// OpenBLAS both set to 1 meanwhile (each worker is one core's worth of work), then restores both.
    /// Overlapping calls from several threads nest: the settings come back when the last one ends.
    public static func runSingleThreadedWorkers(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 { body(0); return }
        singleLock.lock()
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
        DispatchQueue.concurrentPerform(iterations: parts, execute: body)
    }
}
