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
        let C = classCount
        var out = [Scored](repeating: Scored(), count: bases.count)
        for i in bases.indices {
            if tokens[i].isEmpty { out[i].screened = .tooShort } else if let screen { out[i].screened = screen.reason(bases[i]) }
        }
        let screenedIn = bases.indices.filter { out[$0].screened == nil }
        var decided = [Int?](repeating: nil, count: screenedIn.count), hits: [Int32] = []
        if let sketch {
            hits = sketch.hits(screenedIn.map { bases[$0] }, threads: threads)
            for j in screenedIn.indices { decided[j] = sketch.decide(hits[(j * C)..<((j + 1) * C)]) }
        }
        let toModel = screenedIn.indices.filter { decided[$0] == nil }
        var probs = toModel.isEmpty ? [] : predictor.logits(toModel.map { tokens[screenedIn[$0]] })
        var profileScores: [Double] = []
        if let profile, !toModel.isEmpty {
            profileScores = profile.scores(toModel.map { bases[screenedIn[$0]] }, threads: threads)
            probs = KmerProfile.probabilities(logits: probs, scores: profileScores, weight: profileWeight, classes: C)
        } else {
            SequenceClassifier.softmax(&probs, classes: C)
        }
        var m = 0
        for (j, i) in screenedIn.enumerated() {
            let h = sketch == nil ? [] : hits[(j * C)..<((j + 1) * C)]
            if let label = decided[j] {
                let total = Float(h.reduce(0) { $0 + Int($1) })
                out[i].row = ArraySlice(h.map { Float($0) / total })
                out[i].label = label
                out[i].bySketch = true
                out[i].features = ReadConfidence.sketchFeatures(hits: h, label: label)
            } else {
                let row = probs[(m * C)..<((m + 1) * C)]
                let label = row.indices.max { row[$0] < row[$1] }! - row.startIndex
                out[i].row = row
                out[i].label = label
                var wordScore: Double?
                if let profile {
                    let s = profileScores[(m * C)..<((m + 1) * C)]
                    wordScore = s.max()! / Double(max(Self.words(bases[i], k: profile.parameters.k), 1))
                }
                out[i].features = ReadConfidence.modelFeatures(
                    probability: Double(row[row.startIndex + label]),
                    sketchHits: sketch == nil ? nil : Double(h.reduce(0) { $0 + Int($1) }),
                    profileWordScore: wordScore, length: bases[i].count)
                m += 1
            }
            out[i].confidence = confidence.confidence(out[i].features!)
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
