import Foundation
import MambaModel

/// The profile mode of `KmerIndex`: a naive Bayes k-mer profile of each class's training sequences (the RDP
/// classifier's model, Wang et al. 2007), added to the Mamba classifier's log-probabilities: it carries the exact word
/// content of every class, which helps on reads from groups the model has not seen.
///
/// Words: k-mers as `KmerCode` encodes them, k in 1...12, so every word is an index below 4^k; a word holding any
/// other byte is skipped. Words are not canonical (orientation matters, as in RDP): with `strands == .both` a read
/// is also scored as its reverse complement and each class keeps the larger score.
///
/// A read's score for class c is the sum, over every word position (repeats counted each time), of
/// log P(w | c) = log((n(w, c) + P_w) / (N_c + 1)), with the word prior P_w = (n(w) + 0.5) / (N + 1), where N_c is
/// the number of training sequences of class c (the index's reads of c), n(w, c) those of them that contain w (the
/// index's count of w), and N, n(w) the sums over classes. `classify` adds `weight` × score to the model's
/// log-softmax and reports the softmax of the result.
public struct KmerProfile: Sendable {
    public enum Strands: String, Sendable, CaseIterable {
        case both, forward
    }

    public struct Parameters: Sendable, Equatable {
        public var k = 8
        /// The profile's share in `classify`: final score = log softmax(logits) + weight × profile score.
        public var weight = 0.1
        public var strands = Strands.both
        public init() {}

        /// The first out-of-range setting, as the `train` option that sets it; nil when all are valid.
        public var problem: String? {
            if !(1...12).contains(k) { return "--profile-k must be in 1...12 (got \(k))" }
            if !(weight >= 0) || !weight.isFinite { return "--profile-weight must be a finite number of at least 0 (got \(weight))" }
            return nil
        }
    }

    /// The index it scores with (profile mode).
    public let index: KmerIndex
    public let parameters: Parameters
    /// log P(w | c), `classCount × wordCount` row-major (class c's row at `c * wordCount`).
    let logProb: [Float]

    /// `index` must be a profile.
    public init(_ index: KmerIndex) {
        guard case .profile(let p) = index.parameters, let classReads = index.classReads else {
            preconditionFailure("a profile needs a profile-mode index")
        }
        self.index = index
        parameters = p
        logProb = Self.logProbabilities(k: p.k, index: index, classSequences: classReads)
    }

    /// The profile of a classifier model directory, if it has one (see `KmerIndex.load(directory:mode:)`).
    public static func load(directory: String) throws -> KmerProfile? {
        try KmerIndex.load(directory: directory, mode: .profile).map(KmerProfile.init)
    }

    /// The RDP table log P(w | c) = log((n(w, c) + P_w) / (N_c + 1)), P_w = (n(w) + 0.5) / (N + 1), class-major.
    static func logProbabilities(k: Int, index: KmerIndex, classSequences: [Int]) -> [Float] {
        let words = 1 << (2 * k), classes = classSequences.count
        var n = [Int32](repeating: 0, count: words)          // n(w)
        for c in 0..<classes {
            for (w, count) in zip(index.words(ofClass: c), index.counts(ofClass: c)) { n[Int(w)] += Int32(count) }
        }
        let total = Double(classSequences.reduce(0, +))
        var out = [Float](repeating: 0, count: classes * words)
        for c in 0..<classes {
            let denominator = Double(classSequences[c]) + 1
            var present = zip(index.words(ofClass: c), index.counts(ofClass: c)).makeIterator()
            var next = present.next()
            for w in 0..<words {
                var count = 0.0
                if let (word, nc) = next, Int(word) == w { count = Double(nc); next = present.next() }
                let prior = (Double(n[w]) + 0.5) / (total + 1)
                out[c * words + w] = Float(log((count + prior) / denominator))
            }
        }
        return out
    }

    public var labels: [String] { index.labels }
    public var classCount: Int { index.classCount }
    public var wordCount: Int { 1 << (2 * parameters.k) }
    /// Training sequences per class (N_c).
    public var classSequences: [Int] { index.classReads ?? [] }
    /// Training sequences in all (N).
    public var sequences: Int { index.reads }

    /// log P(word | class) for a packed word index below 4^k.
    public func logProbability(word: Int, classIndex c: Int) -> Float { logProb[c * wordCount + word] }

    /// The read's score per class (see `KmerProfile`); all 0 for a read without a complete word. `bases` are raw
    /// sequence bytes. The sum runs over the read's words sorted by index, so it does not depend on their order:
    /// a read and its reverse complement get exactly the same scores with `.both`.
    public func scores(_ bases: [UInt8]) -> [Double] {
        var out = [Double](repeating: 0, count: classCount)
        var scratch = WordScratch()
        bases.withUnsafeBufferPointer { b in out.withUnsafeMutableBufferPointer { addScores(b, to: $0.baseAddress!, &scratch) } }
        return out
    }

    public func scores(_ bases: String) -> [Double] { scores(Array(bases.utf8)) }

    /// The scores of many reads, `reads.count × classCount` row-major (read i's at `i * classCount`), computed on
    /// up to `threads` threads over contiguous chunks of the reads; the same for any thread count.
    public func scores(_ reads: [[UInt8]], threads: Int) -> [Double] {
        let classes = classCount
        var out = [Double](repeating: 0, count: reads.count * classes)
        out.withUnsafeMutableBufferPointer { out in
            let out = out
            // A few hundred reads per slice at least: smaller ones cost more to hand out than to score.
            Parallel.rowSlices(reads.count, threads: threads, minRows: 256) { range in
                var scratch = WordScratch()
                for i in range {
                    reads[i].withUnsafeBufferPointer { addScores($0, to: out.baseAddress! + i * classes, &scratch) }
                }
            }
        }
        return out
    }

    /// Reusable word buffers of one thread.
    struct WordScratch {
        var forward: [Int] = []
        var reverse: [Int] = []
    }

    /// Writes the read's scores to `out[0..<classCount]` (caller-owned, zeroed).
    func addScores(_ bases: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<Double>, _ s: inout WordScratch) {
        let both = parameters.strands == .both
        s.forward.removeAll(keepingCapacity: true); s.reverse.removeAll(keepingCapacity: true)
        KmerCode.forEachWord(bases, k: parameters.k) { w, rc in
            s.forward.append(Int(truncatingIfNeeded: w))
            if both { s.reverse.append(Int(truncatingIfNeeded: rc)) }
        }
        guard !s.forward.isEmpty else { return }
        s.forward.sort(); s.reverse.sort()
        let words = wordCount
        logProb.withUnsafeBufferPointer { table in
            for c in 0..<classCount {
                let row = table.baseAddress! + c * words
                var f = 0.0, r = -Double.infinity
                for w in s.forward { f += Double(row[w]) }
                if both {
                    r = 0
                    for w in s.reverse { r += Double(row[w]) }
                }
                out[c] = max(f, r)
            }
        }
    }

    /// Per row of `logits` (`classes` per row) with the matching row of `scores`: softmax(log softmax(logits) +
    /// weight × scores), computed in double precision (scores × a large weight need it).
    public static func probabilities(logits: [Float], scores: [Double], weight: Double, classes: Int) -> [Float] {
        precondition(logits.count == scores.count && classes > 0 && logits.count % classes == 0)
        var out = [Float](repeating: 0, count: logits.count)
        var f = [Double](repeating: 0, count: classes)
        for r in 0..<(logits.count / classes) {
            let base = r * classes
            var m = -Double.infinity
            for c in 0..<classes { m = max(m, Double(logits[base + c])) }
            var s = 0.0
            for c in 0..<classes { s += exp(Double(logits[base + c]) - m) }
            let logSum = m + log(s)
            var top = -Double.infinity
            for c in 0..<classes {
                f[c] = Double(logits[base + c]) - logSum + weight * scores[base + c]
                top = max(top, f[c])
            }
            var total = 0.0
            for c in 0..<classes { f[c] = exp(f[c] - top); total += f[c] }
            for c in 0..<classes { out[base + c] = Float(f[c] / total) }
        }
        return out
    }
}
