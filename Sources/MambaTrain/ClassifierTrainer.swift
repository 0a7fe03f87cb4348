import Foundation
import MambaModel

/// Settings of a classifier training run.
public struct ClassifierTrainingOptions: Sendable {
    public var batchTokens = 16_384          // rows (bases) per optimiser step
    public var maxLength = 4096              // longer sequences get a random window of this length per step
    public var epochs: Double = 3            // used when `steps` is nil
    public var steps: Int?
    public var learningRate: Float = 2e-3
    public var minLearningRateRatio: Float = 0.1
    public var warmupSteps: Int?             // default: 5 % of the steps, at most 500
    public var weightDecay: Float = 0.05
    public var clipNorm: Float = 1
    public var seed: UInt64 = 1
    public var threads = 1
    public var shards = 4                    // gradient shards per batch: fixed, so results do not depend on threads
    public var reverseComplement = true      // random-strand augmentation
    public var substitutionRate = 0.0        // per training base: replaced by another base (augmentation)
    public var indelRate = 0.0               // per training base: a 1-base insertion or deletion (augmentation)
    public var evalEvery: Int?               // default: 4 times per epoch
    public var patience = 4                  // evaluations without a better validation loss before stopping
    public var checkpointEvery = 0           // steps; 0 = no checkpoints
    public var checkpointDirectory: String?
    public var resume = false
    public var stopAfterStep: Int?           // end this run after that step (a later `resume` continues it)
    public var logEvery = 20
    public init() {}

    /// The length of the training windows: longer sequences are trained on a random one per step.
    public var windowLength: Int { max(1, min(maxLength, batchTokens)) }
    public var augmentation: SequenceAugmentation {
        SequenceAugmentation(substitutionRate: substitutionRate, indelRate: indelRate)
    }
}

public struct ValidationResult: Sendable {
    public var count: Int
    public var loss: Double
    public var accuracy: Double
    public var recall: [Double]              // per class (NaN where a class has no sequences)
}

public struct TrainingProgress: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var epoch: Double
    public var loss: Double                  // mean training loss since the last report
    public var accuracy: Double              // training accuracy since the last report
    public var learningRate: Float
    public var tokensPerSecond: Double
    public var elapsed: Double
    public var eta: Double
}

public enum TrainingEvent: Sendable {
    case progress(TrainingProgress)
    case validation(step: Int, ValidationResult, improved: Bool)
    case checkpoint(step: Int, path: String)
    case resumed(step: Int)
    case stoppedEarly(step: Int, bestStep: Int)
}

public struct TrainingSummary: Sendable {
    public var steps = 0
    public var epochs = 0.0
    public var tokens = 0
    public var seconds = 0.0
    public var tokensPerSecond = 0.0
    public var finalTrainingLoss = Double.nan
    public var best: ValidationResult?
    public var bestStep = 0
    public var stoppedEarly = false
}

/// Mini-batch training of a `SequenceClassifier` with `TrainingLoop`: random-strand augmentation and
/// cross-entropy per step; validation by the model's own prediction path.
public final class ClassifierTrainer {
    public let model: SequenceClassifier
    public let train: [LabelledSequence]
    public let validation: [LabelledSequence]
    public let options: ClassifierTrainingOptions
    let loop: TrainingLoop
    var best: SequenceClassifier?      // the best weights by validation loss so far

    public init(model: SequenceClassifier, train: [LabelledSequence], validation: [LabelledSequence],
                options: ClassifierTrainingOptions) {
        precondition(!train.isEmpty)
        self.model = model; self.train = train; self.validation = validation; self.options = options
        loop = TrainingLoop(parameters: model.namedTensors(), lengths: train.map(\.tokens.count),
                            validates: !validation.isEmpty, options: options)
    }

    public var totalSteps: Int { loop.totalSteps }
    public var evalEvery: Int { loop.evalEvery }
    public var stepsPerEpoch: Int { loop.stepsPerEpoch }
    public var schedule: WarmupCosineSchedule { loop.schedule }

    public func run(_ log: (TrainingEvent) -> Void = { _ in }) throws -> TrainingSummary {
        try loop.run(self, log)
    }

    /// Loss, accuracy and per-class recall on `data` (the model's own prediction path, strand averaging included).
    public func evaluate(_ data: [LabelledSequence]) -> ValidationResult {
        Self.evaluate(model, data, threads: options.threads)
    }

    public static func evaluate(_ model: SequenceClassifier, _ data: [LabelledSequence], threads: Int) -> ValidationResult {
        let C = model.classCount
        var logits = ClassifierPredictor(model: model, threads: threads).logits(data.map(\.tokens))
        SequenceClassifier.softmax(&logits, classes: C)
        var loss = 0.0, correct = 0
        var hits = [Int](repeating: 0, count: C), counts = [Int](repeating: 0, count: C)
        for (i, s) in data.enumerated() {
            let row = logits[(i * C)..<((i + 1) * C)]
            loss -= Foundation.log(max(Double(row[row.startIndex + s.label]), 1e-30))
            let pred = row.indices.max { row[$0] < row[$1] }! - row.startIndex
            counts[s.label] += 1
            if pred == s.label { correct += 1; hits[s.label] += 1 }
        }
        let n = max(data.count, 1)
        return ValidationResult(count: data.count, loss: loss / Double(n), accuracy: Double(correct) / Double(n),
                                recall: (0..<C).map { counts[$0] > 0 ? Double(hits[$0]) / Double(counts[$0]) : .nan })
    }
}


extension ClassifierTrainer: TrainingObjective {
    func makeTape() -> ClassifierTape { ClassifierTape() }

    /// Per-step randomness (strand, crop window, base noise) from (seed, step): independent of threads and
    /// resumes. The noise has a stream of its own, so the windows and strands do not depend on it.
    func batch(_ indices: [Int], step: Int) -> (batch: (seqs: [[Int]], labels: [Int]), lengths: [Int], trains: Bool) {
        var rng = RandomSource(seed: mix(options.seed, 0xA06_0000_0000 &+ UInt64(step)))
        var noise = RandomSource(seed: mix(options.seed, 0xA06_A000_0000 &+ UInt64(step)))
        let maxLen = loop.maxLength, augmentation = options.augmentation
        var seqs: [[Int]] = [], labels: [Int] = []
        for i in indices {
            var t = train[i].tokens
            let s = t.count > maxLen ? rng.nextInt(below: t.count - maxLen + 1) : 0
            if !augmentation.isIdentity {
                t = augmentation.window(of: t, start: s, length: maxLen, rng: &noise)
                augmentation.substitute(&t, rng: &noise)
            } else if t.count > maxLen {
                t = Array(t[s..<(s + maxLen)])
            }
            if options.reverseComplement && rng.next() & 1 == 1 { t = DNATokenizer.reverseComplement(t) }
            seqs.append(t.map { Int($0) }); labels.append(train[i].label)
        }
        return ((seqs, labels), seqs.map(\.count), true)
    }

    func lossAndGradients(_ batch: (seqs: [[Int]], labels: [Int]), sequences r: Range<Int>, grads: ParameterSet,
                          tape: ClassifierTape) -> ShardLoss {
        let res = ClassifierBackward.lossAndGradients(
            model, tokens: Array(batch.seqs[r].joined()), lengths: batch.seqs[r].map(\.count),
            labels: Array(batch.labels[r]), divisor: batch.seqs.count, grads: grads, tape: tape)
        return ShardLoss(loss: res.loss, correct: res.correct)
    }

    var reportsAccuracy: Bool { true }

    func validate(tapes: [ClassifierTape]) -> ValidationResult { evaluate(validation) }

    func keepBest() throws {
        if let best { best.load(weightsOf: model) } else { best = try model.copy() }
    }

    func restoreBest() {
        if let best { model.load(weightsOf: best) }
    }
}
