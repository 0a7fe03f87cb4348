import Foundation
import MambaModel

/// Collects the sampled k-mers of labelled training reads and turns them into a `KmerSketch`.
/// The result depends only on the multiset of (read, class) pairs: not on their order, nor on `threads`.
public struct KmerSketchBuilder {
    public let parameters: KmerSketch.Parameters
    public let labels: [String]
    /// Per class, the hash of every sampled k-mer occurrence so far (counted into k-mers by `build`).
    private var sampled: [[UInt64]]
    /// Training reads added per class.
    public private(set) var reads: [Int]

    /// What `build` kept of one class.
    public struct ClassSummary: Sendable, Equatable {
        public var reads = 0
        public var sampledOccurrences = 0
        public var distinctKmers = 0
        /// Fingerprints in the class's set: distinct k-mers seen `minCount` times or more (two k-mers that share a
        /// 32-bit fingerprint count once).
        public var kept = 0
    }

    /// `parameters` must be valid (`problem == nil`).
    public init(parameters: KmerSketch.Parameters, labels: [String]) {
        precondition(parameters.problem == nil, parameters.problem ?? "")
        self.parameters = parameters
        self.labels = labels
        sampled = Array(repeating: [], count: labels.count)
        reads = Array(repeating: 0, count: labels.count)
    }

    /// Adds one training read (raw sequence bytes) of class `classIndex` (an index into `labels`).
    public mutating func add(_ bases: [UInt8], classIndex: Int) {
        reads[classIndex] += 1
        bases.withUnsafeBufferPointer { b in
            KmerHash.forEachSampledHash(b, k: parameters.k, scaled: parameters.scaled) { sampled[classIndex].append($0) }
        }
    }

    /// The sketch of everything added, and what was kept per class. Classes are counted on up to `threads`
    /// threads at once; the result is the same for any count.
    public func build(threads: Int = 1) -> (sketch: KmerSketch, summaries: [ClassSummary]) {
        let classes = labels.count
        var sets = [[UInt32]](repeating: [], count: classes)
        var summaries = [ClassSummary](repeating: ClassSummary(), count: classes)
        let minCount = parameters.minCount
        let workers = max(1, min(threads, classes))
        sets.withUnsafeMutableBufferPointer { setsOut in
            summaries.withUnsafeMutableBufferPointer { summaryOut in
                let setsOut = setsOut, summaryOut = summaryOut
                // Worker w counts classes w, w + workers, …: each writes only its own classes' slots.
                let body = { (w: Int) in
                    for c in stride(from: w, to: classes, by: workers) {
                        (setsOut[c], summaryOut[c]) = Self.countRuns(sampled[c], minCount: minCount)
                        summaryOut[c].reads = reads[c]
                    }
                }
                Parallel.run(workers, body)
            }
        }
        let sketch = KmerSketch(parameters: parameters, labels: labels, sets: sets, reads: reads.reduce(0, +))
        return (sketch, summaries)
    }

    /// Sorts the hashes, keeps those occurring `minCount` times or more, and returns their fingerprints (sorted,
    /// unique: fingerprints are the high half of the hash, so sorted hashes give sorted fingerprints).
    static func countRuns(_ hashes: [UInt64], minCount: Int) -> ([UInt32], ClassSummary) {
        var sorted = hashes
        sorted.sort()
        var kept: [UInt32] = []
        var summary = ClassSummary()
        summary.sampledOccurrences = sorted.count
        var i = 0
        while i < sorted.count {
            var j = i + 1
            while j < sorted.count && sorted[j] == sorted[i] { j += 1 }
            summary.distinctKmers += 1
            if j - i >= minCount {
                let f = KmerHash.fingerprint(sorted[i])
                if kept.last != f { kept.append(f) }
            }
            i = j
        }
        summary.kept = kept.count
        return (kept, summary)
    }
}
