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
        let classes = labels.count, wordCount = 1 << (2 * parameters.k)
        let total = Double(sequences.reduce(0, +))
        var logProb = [Float](repeating: 0, count: presence.count)
        var summaries = sequences.map { ClassSummary(sequences: $0, distinctWords: 0) }
        for w in 0..<wordCount {
            var n = 0
            for c in 0..<classes { n += Int(presence[c * wordCount + w]) }
            let prior = (Double(n) + 0.5) / (total + 1)
            for c in 0..<classes {
                let count = presence[c * wordCount + w]
                if count > 0 { summaries[c].distinctWords += 1 }
                logProb[c * wordCount + w] = Float(log((Double(count) + prior) / (Double(sequences[c]) + 1)))
            }
        }
        let profile = KmerProfile(parameters: parameters, labels: labels, classSequences: sequences, logProb: logProb)
        return (profile, summaries)
    }
}
