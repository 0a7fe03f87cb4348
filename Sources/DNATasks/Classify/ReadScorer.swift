import Foundation
import MambaModel

/// What decides a batch of reads in `classify`: the screen, then the k-mer sketch, then the model (with the k-mer
/// profile added), and the confidence of each decision. `ReadClassifier` writes its results; `train --task
/// calibrate` fits the confidence on them.
struct ReadScorer {
    struct Scored {
        /// Set when the screen left the read out (no label then).
        var screened: ReadScreen.Reason?
        var label = 0
        /// Per class: the model's probabilities, or the shares of the read's sketch hits when the sketch decided.
        var row: ArraySlice<Float> = []
        var bySketch = false
        var features: ReadConfidence.Features?
        var confidence = 0.0
    }

    let model: SequenceClassifier
    let predictor: ClassifierPredictor
    let sketch: KmerSketch?
    let profile: KmerProfile?
    let profileWeight: Double
    let screen: ReadScreen?
    let confidence: ReadConfidence
    let threads: Int

    var classCount: Int { model.classCount }

    /// Scores reads given as bases and as tokens (the same reads, in order).
    func score(bases: [[UInt8]], tokens: [[Int32]]) -> [Scored] {
        score(bases: bases, tokens: tokens, mates: 1)
    }

    /// Scores read pairs: `bases` and `tokens` hold the mates in turn (pair i is reads 2i and 2i + 1), one result
    /// per pair. A mate the screen sets aside (or an empty one) gives the pair no evidence; the pair is set aside,
    /// with its first mate's reason, only when both are. The other mates are pooled: their sketch hits are added up
    /// (the sketch decides on the sum), the model's probabilities are the mean of the mates' (each mate predicted as
    /// a read alone, both strands averaged unless turned off), and the k-mer profile adds the sum of the mates' word
    /// log-likelihoods (each mate on its better strand). The confidence features are the pair's: pooled hits, the
    /// mean probability, the profile score per word over both mates' words, and the mates' combined length.
    func scorePairs(bases: [[UInt8]], tokens: [[Int32]]) -> [Scored] {
        precondition(bases.count % 2 == 0 && bases.count == tokens.count)
        return score(bases: bases, tokens: tokens, mates: 2)
    }

    /// Units of `mates` consecutive reads (1: single reads, 2: pairs), one result per unit.
    private func score(bases: [[UInt8]], tokens: [[Int32]], mates: Int) -> [Scored] {
        let C = classCount
        let units = bases.count / mates
        var out = [Scored](repeating: Scored(), count: units)
        // Per unit, the reads that give evidence (those the screen keeps); a unit with none is set aside.
        var used = [[Int]](repeating: [], count: units)
        for u in 0..<units {
            var first: ReadScreen.Reason?
            for m in 0..<mates {
                let i = u * mates + m
                let reason: ReadScreen.Reason? = tokens[i].isEmpty ? .tooShort : screen?.reason(bases[i])
                if let reason { if m == 0 { first = reason } } else { used[u].append(i) }
            }
            if used[u].isEmpty { out[u].screened = first ?? .tooShort }
        }
        let screenedIn = (0..<units).filter { out[$0].screened == nil }
        var decided = [Int?](repeating: nil, count: screenedIn.count), hits: [Int32] = []
        if let sketch {
            let reads = screenedIn.flatMap { used[$0] }
            let readHits = sketch.hits(reads.map { bases[$0] }, threads: threads)
            if mates == 1 {
                hits = readHits
            } else {
                hits = [Int32](repeating: 0, count: screenedIn.count * C)
                var r = 0
                for (j, u) in screenedIn.enumerated() {
                    for _ in used[u] {
                        for c in 0..<C { hits[j * C + c] += readHits[r * C + c] }
                        r += 1
                    }
                }
            }
            for j in screenedIn.indices { decided[j] = sketch.decide(hits[(j * C)..<((j + 1) * C)]) }
        }
        let toModel = screenedIn.indices.filter { decided[$0] == nil }
        let modelReads = toModel.flatMap { used[screenedIn[$0]] }
        var logits = modelReads.isEmpty ? [] : predictor.logits(modelReads.map { tokens[$0] })
        var profileScores: [Double] = []
        if let profile, !modelReads.isEmpty { profileScores = profile.scores(modelReads.map { bases[$0] }, threads: threads) }
        if mates > 1 && !modelReads.isEmpty {
            // Per unit: the log of the mean of its mates' probabilities (a unit of one read keeps its logits), and
            // the sum of its mates' profile scores.
            var pooled = [Float](repeating: 0, count: toModel.count * C)
            var pooledScores = [Double](repeating: 0, count: profile == nil ? 0 : toModel.count * C)
            var r = 0
            for (m, j) in toModel.enumerated() {
                let n = used[screenedIn[j]].count
                if n == 1 {
                    for c in 0..<C { pooled[m * C + c] = logits[r * C + c] }
                } else {
                    var rows = Array(logits[(r * C)..<((r + n) * C)])
                    SequenceClassifier.softmax(&rows, classes: C)
                    for c in 0..<C {
                        var mean: Float = 0
                        for k in 0..<n { mean += rows[k * C + c] }
                        pooled[m * C + c] = log(max(mean / Float(n), Float.leastNormalMagnitude))
                    }
                }
                if profile != nil {
                    for k in 0..<n { for c in 0..<C { pooledScores[m * C + c] += profileScores[(r + k) * C + c] } }
                }
                r += n
            }
            logits = pooled
            if profile != nil { profileScores = pooledScores }
        }
        var probs = logits
        if profile != nil && !modelReads.isEmpty {
            probs = KmerProfile.probabilities(logits: logits, scores: profileScores, weight: profileWeight, classes: C)
        } else {
            SequenceClassifier.softmax(&probs, classes: C)
        }
        var m = 0
        for (j, u) in screenedIn.enumerated() {
            let h = sketch == nil ? [] : hits[(j * C)..<((j + 1) * C)]
            if let label = decided[j] {
                let total = Float(h.reduce(0) { $0 + Int($1) })
                out[u].row = ArraySlice(h.map { Float($0) / total })
                out[u].label = label
                out[u].bySketch = true
                out[u].features = ReadConfidence.sketchFeatures(hits: h, label: label)
            } else {
                let row = probs[(m * C)..<((m + 1) * C)]
                let label = row.indices.max { row[$0] < row[$1] }! - row.startIndex
                out[u].row = row
                out[u].label = label
                var wordScore: Double?
                if let profile {
                    let s = profileScores[(m * C)..<((m + 1) * C)]
                    let words = used[u].reduce(0) { $0 + Self.words(bases[$1], k: profile.parameters.k) }
                    wordScore = s.max()! / Double(max(words, 1))
                }
                out[u].features = ReadConfidence.modelFeatures(
                    probability: Double(row[row.startIndex + label]),
                    sketchHits: sketch == nil ? nil : Double(h.reduce(0) { $0 + Int($1) }),
                    profileWordScore: wordScore, length: used[u].reduce(0) { $0 + bases[$1].count })
                m += 1
            }
            out[u].confidence = confidence.confidence(out[u].features!)
        }
        return out
    }

    /// Words of length k made only of A/C/G/T (either case) in `bases`: what a k-mer profile scores.
    static func words(_ bases: [UInt8], k: Int) -> Int {
        var run = 0, n = 0
        for b in bases {
            switch b | 0x20 {
            case UInt8(ascii: "a"), UInt8(ascii: "c"), UInt8(ascii: "g"), UInt8(ascii: "t"): run += 1
            default: run = 0
            }
            if run >= k { n += 1 }
        }
        return n
    }
}
