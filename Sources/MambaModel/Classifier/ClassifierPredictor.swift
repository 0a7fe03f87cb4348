import Dispatch
import MambaKernels

/// Batched, multi-threaded inference of a `SequenceClassifier`: sequences are packed into batches of about
/// `batchTokens` rows, and `threads` workers each run whole batches with single-threaded kernels (for
/// models this small, one batch per core scales better than splitting every product across cores).
/// Each batch's result does not depend on the thread count.
public struct ClassifierPredictor {
    public let model: SequenceClassifier
    public var threads: Int
    public var batchTokens: Int

    public init(model: SequenceClassifier, threads: Int, batchTokens: Int = 8192) {
        self.model = model; self.threads = max(1, threads); self.batchTokens = max(1, batchTokens)
    }

    /// Consecutive index ranges of `sequences` holding about `batchTokens` tokens each (a longer sequence gets a
    /// range of its own), covering all of them in order.
    public static func batchRanges(_ sequences: [[Int32]], batchTokens: Int) -> [Range<Int>] {
        var batches: [Range<Int>] = []
        var start = 0, tokens = 0
        for (i, s) in sequences.enumerated() {
            if i > start && tokens + s.count > batchTokens { batches.append(start..<i); start = i; tokens = 0 }
            tokens += s.count
        }
        if start < sequences.count { batches.append(start..<sequences.count) }
        return batches
    }

    /// Logits (N, C) for N sequences (each ≥ 1 token), in input order.
    public func logits(_ sequences: [[Int32]]) -> [Float] {
        let C = model.classCount
        let batches = Self.batchRanges(sequences, batchTokens: batchTokens)
        var out = [Float](repeating: 0, count: sequences.count * C)
        let workers = min(threads, batches.count)
        // Parallel over batches only: each worker's kernels and products run on one thread.
        out.withUnsafeMutableBufferPointer { o in
            let base = o.baseAddress!
            Parallel.run(workers) { w in
                for b in stride(from: w, to: batches.count, by: workers) {
                    let range = batches[b]
                    let lengths = range.map { sequences[$0].count }
                    // A batch of one read (a long one gets a batch of its own) is passed as it is, not copied.
                    let packed = range.count == 1 ? sequences[range.lowerBound] : Array(range.map { sequences[$0] }.joined())
                    let l = model.logits(packed: packed, lengths: lengths, threads: 1)
                    (base + range.lowerBound * C).update(from: l, count: l.count)
                }
            }
        }
        return out
    }
}
