import Dispatch
import Foundation

/// How a computation may use the machine: the threads its kernels and matrix products run on. A value that the
/// caller passes down (commands → models → kernels); nothing in the process holds a thread count of its own.
///
/// Work that already runs on several workers gives each worker `threads: 1` for what it calls. OpenBLAS 0.3.21
/// keeps one process-wide thread count and has no per-call setting, so `Gemm` sets it from each call's own
/// `threads` argument before the product (only when it differs), and it is never read as a default.
public struct Compute: Sendable, Equatable, CustomStringConvertible {
    /// Threads for one computation (at least 1).
    public var threads: Int { didSet { threads = Swift.max(1, threads) } }

    public init(threads: Int) { self.threads = Swift.max(1, threads) }

    /// Every core this process may use.
    public static var allCores: Compute { Compute(threads: ProcessInfo.processInfo.activeProcessorCount) }
    /// One thread: for work that runs inside a worker of a larger fan-out.
    public static let oneThread = Compute(threads: 1)

    public var description: String { "\(threads) thread\(threads == 1 ? "" : "s")" }
}

/// Fan-out of independent parts over threads (the one place the kernels, models and tasks start threads).
public enum Parallel {
    /// Runs `body(i)` for i in 0..<parts, on the calling thread when parts is 1, else one thread per part.
    @inlinable
    public static func run(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 { body(0); return }
        DispatchQueue.concurrentPerform(iterations: parts, execute: body)
    }

    /// Runs `body(range)` over `rows` rows split into up to `threads` contiguous ranges of at least `minRows` rows,
    /// one per thread. The ranges depend only on rows, threads and minRows; what `body` calls should run on one
    /// thread (it is one of several workers) unless there is a single range.
    public static func rowSlices(_ rows: Int, threads: Int, minRows: Int = 32, _ body: (Range<Int>) -> Void) {
        let parts = Swift.max(1, Swift.min(threads, rows / Swift.max(1, minRows)))
        if parts <= 1 { body(0..<rows); return }
        run(parts) { p in body((p * rows / parts)..<((p + 1) * rows / parts)) }
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
