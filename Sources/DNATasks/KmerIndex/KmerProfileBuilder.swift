import Foundation

/// Counts, per class, the training sequences that contain each word and turns the counts into a `KmerProfile`.
/// The result depends only on the multiset of (sequence, class) pairs, not on their order.
public struct KmerProfileBuilder {
    public let parameters: KmerProfile.Parameters
    public let labels: [String]
    /// n(w, c): sequences of class c that contain word w, `labels.count × 4^k` row-major.
    private var presence: [Int32]
    /// N_c: sequences added per class.
    public private(set) var sequences: [Int]
    private var words: [Int] = []

    /// What `build` saw of one class.
    public struct ClassSummary: Sendable, Equatable {
        public var sequences = 0
        /// Words present in at least one of the class's sequences.
        public var distinctWords = 0
    }

    /// `parameters` must be valid (`problem == nil`).
    public init(parameters: KmerProfile.Parameters, labels: [String]) {
        precondition(parameters.problem == nil, parameters.problem ?? "")
        self.parameters = parameters
        self.labels = labels
        presence = [Int32](repeating: 0, count: labels.count << (2 * parameters.k))
        sequences = Array(repeating: 0, count: labels.count)
    }

    /// Adds one training sequence (raw bytes) of class `classIndex` (an index into `labels`); each distinct word
    /// counts once, however often the sequence holds it.
    public mutating func add(_ bases: [UInt8], classIndex: Int) {
        sequences[classIndex] += 1
        words.removeAll(keepingCapacity: true)
        bases.withUnsafeBufferPointer { b in KmerWords.forEachWord(b, k: parameters.k) { w, _ in words.append(w) } }
        words.sort()
        let row = classIndex << (2 * parameters.k)
        var previous = -1
        for w in words where w != previous {
            presence[row + w] += 1
            previous = w
        }
    }

    /// The profile of everything added (log P(w | c) as in `KmerProfile`), and what each class held.
    public func build() -> (profile: KmerProfile, summaries: [ClassSummary]) {
        let wordCount = 1 << (2 * parameters.k)
        var classWords: [[UInt32]] = [], classCounts: [[UInt32]] = []
        for c in labels.indices {
            var words: [UInt32] = [], counts: [UInt32] = []
            for w in 0..<wordCount where presence[c * wordCount + w] > 0 {
                words.append(UInt32(w)); counts.append(UInt32(presence[c * wordCount + w]))
            }
            classWords.append(words); classCounts.append(counts)
        }
        let summaries = labels.indices.map { ClassSummary(sequences: sequences[$0], distinctWords: classWords[$0].count) }
        let profile = KmerProfile(parameters: parameters, labels: labels, classSequences: sequences,
                                  classWords: classWords, classCounts: classCounts)
        return (profile, summaries)
    }
}
