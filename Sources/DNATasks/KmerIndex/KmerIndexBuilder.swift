import Foundation
import MambaModel

/// Collects the k-mers of labelled training reads and turns them into a `KmerIndex` of either mode. Each read adds
/// keys to its class's list: in the sketch mode the hash of every sampled k-mer occurrence, in the profile mode each
/// distinct word of the read once. `build` sorts every class's keys and counts the runs of equal ones: a sketch keeps
/// the fingerprints of the hashes seen `minCount` times or more, a profile every word with its count (the number of
/// the class's reads that hold it). The result depends only on the multiset of (read, class) pairs: not on their
/// order, nor on `threads`.
public struct KmerIndexBuilder {
    public let parameters: KmerIndex.Parameters
    public let labels: [String]
    /// Per class, the keys added so far.
    private var keys: [[UInt64]]
    /// Training reads added per class.
    public private(set) var reads: [Int]
    /// One read's words (profile mode), reused.
    private var scratch: [UInt64] = []

    /// What `build` kept of one class.
    public struct ClassSummary: Sendable, Equatable {
        public var reads = 0
        /// Keys added: sampled k-mer occurrences (sketch), or (read, distinct word) pairs (profile).
        public var keys = 0
        /// Distinct keys: k-mers (sketch) or words (profile).
        public var distinct = 0
        /// Words in the class's list: fingerprints of the k-mers seen `minCount` times or more (two k-mers that share
        /// a 32-bit fingerprint count once) in the sketch mode, every distinct word in the profile mode.
        public var kept = 0

        public init(reads: Int = 0, keys: Int = 0, distinct: Int = 0, kept: Int = 0) {
            self.reads = reads; self.keys = keys; self.distinct = distinct; self.kept = kept
        }
    }

    /// `parameters` must be valid (`problem == nil`).
    public init(parameters: KmerIndex.Parameters, labels: [String]) {
        precondition(parameters.problem == nil, parameters.problem ?? "")
        self.parameters = parameters
        self.labels = labels
        keys = Array(repeating: [], count: labels.count)
        reads = Array(repeating: 0, count: labels.count)
    }

    /// Adds one training read (raw sequence bytes) of class `classIndex` (an index into `labels`).
    public mutating func add(_ bases: [UInt8], classIndex: Int) {
        reads[classIndex] += 1
        switch parameters {
        case .sketch(let p):
            bases.withUnsafeBufferPointer { b in
                KmerCode.forEachSampledHash(b, k: p.k, scaled: p.scaled) { keys[classIndex].append($0) }
            }
        case .profile(let p):
            // Words are not canonical (orientation matters); each counts once however often the read holds it.
            scratch.removeAll(keepingCapacity: true)
            bases.withUnsafeBufferPointer { b in KmerCode.forEachWord(b, k: p.k) { w, _ in scratch.append(w) } }
            scratch.sort()
            var previous = UInt64.max
            for w in scratch where w != previous {
                keys[classIndex].append(w)
                previous = w
            }
        }
    }

    /// The index of everything added, and what was kept per class. Classes are counted on up to `threads` threads
    /// at once; the result is the same for any count.
    public func build(threads: Int = 1) -> (index: KmerIndex, summaries: [ClassSummary]) {
        let classes = labels.count
        var words = [[UInt32]](repeating: [], count: classes)
        var counts = [[UInt32]](repeating: [], count: classes)
        var summaries = [ClassSummary](repeating: ClassSummary(), count: classes)
        let workers = max(1, min(threads, classes))
        let parameters = parameters, keys = keys, reads = reads
        words.withUnsafeMutableBufferPointer { wordsOut in
            counts.withUnsafeMutableBufferPointer { countsOut in
                summaries.withUnsafeMutableBufferPointer { summaryOut in
                    let wordsOut = wordsOut, countsOut = countsOut, summaryOut = summaryOut
                    // Worker w counts classes w, w + workers, …: each writes only its own classes' slots.
                    Parallel.run(workers) { w in
                        for c in stride(from: w, to: classes, by: workers) {
                            (wordsOut[c], countsOut[c], summaryOut[c]) = Self.countRuns(keys[c], parameters)
                            summaryOut[c].reads = reads[c]
                        }
                    }
                }
            }
        }
        let sketch = parameters.mode == .sketch
        let index = KmerIndex(parameters: parameters, labels: labels, words: words, counts: sketch ? nil : counts,
                              reads: reads.reduce(0, +), classReads: reads)
        return (index, summaries)
    }

    /// Sorts one class's keys and counts the runs of equal ones into its word list (and counts, profile mode).
    /// Sketch fingerprints are the high half of the hash, so sorted hashes give sorted fingerprints.
    static func countRuns(_ keys: [UInt64], _ parameters: KmerIndex.Parameters) -> ([UInt32], [UInt32], ClassSummary) {
        var sorted = keys
        sorted.sort()
        var words: [UInt32] = [], counts: [UInt32] = []
        var summary = ClassSummary()
        summary.keys = sorted.count
        var i = 0
        while i < sorted.count {
            var j = i + 1
            while j < sorted.count && sorted[j] == sorted[i] { j += 1 }
            summary.distinct += 1
            switch parameters {
            case .sketch(let p):
                if j - i >= p.minCount {
                    let f = KmerCode.fingerprint(sorted[i])
                    if words.last != f { words.append(f) }
                }
            case .profile:
                words.append(UInt32(sorted[i]))
                counts.append(UInt32(j - i))
            }
            i = j
        }
        summary.kept = words.count
        return (words, counts, summary)
    }
}
