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
}
