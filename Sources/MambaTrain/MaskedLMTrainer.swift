import Foundation
import MambaModel

/// Masked-LM pretraining of a `MaskedLMNetwork` on unlabelled sequences with `TrainingLoop` and the
/// classifier trainer's settings (`ClassifierTrainingOptions`).
///
/// Each step: the batch's sequences are cropped to a random window of `maxLength`, reverse-complemented at
/// random (`reverseComplement`), masked (`MaskedLMMasking`), all from a generator seeded by (seed, step);
/// the loss is the mean CE over the batch's masked positions. Validation uses one fixed masking of the
/// validation sequences.
public final class MaskedLMTrainer {
    public let network: MaskedLMNetwork
    public let train: [[Int32]]
    public let validation: [[Int32]]
    public let options: ClassifierTrainingOptions
    public let maskProbability: Double
    let loop: TrainingLoop
    let validationMasks: [(inputs: [Int], targets: [Int])]
    var best: [Tensor]?                // the best parameters by validation loss so far

    public init(network: MaskedLMNetwork, train: [[Int32]], validation: [[Int32]], options: ClassifierTrainingOptions,
                maskProbability: Double = 0.15) {
        precondition(!train.isEmpty)
        self.network = network; self.train = train; self.validation = validation; self.options = options
        self.maskProbability = maskProbability
        loop = TrainingLoop(parameters: network.namedTensors, lengths: train.map(\.count),
                            validates: !validation.isEmpty, options: options)
        var rng = RandomSource(seed: mix(options.seed, 0x7A11_0000_0000))
        let maxLen = loop.maxLength
        validationMasks = validation.map { MaskedLMMasking.mask(Array($0.prefix(maxLen)), probability: maskProbability, rng: &rng) }
    }

    public var totalSteps: Int { loop.totalSteps }
    public var evalEvery: Int { loop.evalEvery }
    public var stepsPerEpoch: Int { loop.stepsPerEpoch }
    public var schedule: WarmupCosineSchedule { loop.schedule }
    public var parameterCount: Int { loop.shardGrads[0].parameters.reduce(0) { $0 + $1.count } }

    public func run(_ log: (TrainingEvent) -> Void = { _ in }) throws -> TrainingSummary {
        try loop.run(self, log)
    }

    /// Mean CE and accuracy over the masked positions of the validation sequences (fixed masks).
    public func evaluate() -> ValidationResult {
        validate(tapes: (0..<max(1, options.threads)).map { _ in MaskedLMTape() })
    }
}

extension MaskedLMTrainer: TrainingObjective {
    func makeTape() -> MaskedLMTape { MaskedLMTape() }

    func batch(_ indices: [Int], step: Int) -> (batch: (inputs: [[Int]], targets: [[Int]], masked: Int), lengths: [Int],
                                                 trains: Bool) {
        var rng = RandomSource(seed: mix(options.seed, 0x3A5C_0000_0000 &+ UInt64(step)))
        let maxLen = loop.maxLength
        var inputs: [[Int]] = [], targets: [[Int]] = []
        for i in indices {
            var t = train[i]
            if t.count > maxLen {
                let s = rng.nextInt(below: t.count - maxLen + 1)
                t = Array(t[s..<(s + maxLen)])
            }
            if options.reverseComplement && rng.next() & 1 == 1 { t = DNATokenizer.reverseComplement(t) }
            let m = MaskedLMMasking.mask(t, probability: maskProbability, rng: &rng)
            inputs.append(m.inputs); targets.append(m.targets)
        }
        let masked = targets.reduce(0) { $0 + $1.lazy.filter { $0 != CrossEntropy.ignoreIndex }.count }
        return ((inputs, targets, masked), inputs.map(\.count), masked > 0)
    }

    func lossAndGradients(_ batch: (inputs: [[Int]], targets: [[Int]], masked: Int), sequences r: Range<Int>,
                          grads: ParameterSet, tape: MaskedLMTape) -> ShardLoss {
        ShardLoss(loss: network.lossAndGradients(inputs: Array(batch.inputs[r].joined()),
                                                 targets: Array(batch.targets[r].joined()),
                                                 lengths: batch.inputs[r].map(\.count), divisor: batch.masked,
                                                 grads: grads, tape: tape))
    }

    var reportsAccuracy: Bool { false }

    func validate(tapes: [MaskedLMTape]) -> ValidationResult {
        // Groups of sequences up to batchTokens rows, in a fixed order; partial sums added in group order.
        var groups: [Range<Int>] = [], a = 0, rows = 0
        for (i, m) in validationMasks.enumerated() {
            if i > a && rows + m.inputs.count > options.batchTokens { groups.append(a..<i); a = i; rows = 0 }
            rows += m.inputs.count
        }
        if a < validationMasks.count { groups.append(a..<validationMasks.count) }
        var parts = [(sum: Double, count: Int, correct: Int)](repeating: (0, 0, 0), count: groups.count)
        let network = self.network, masks = validationMasks, workers = tapes.count
        parts.withUnsafeMutableBufferPointer { res in
            let out = res.baseAddress!
            Parallel.run(workers) { w in
                for g in stride(from: w, to: groups.count, by: workers) {
                    let r = groups[g]
                    out[g] = network.lossSum(inputs: Array(masks[r].map(\.inputs).joined()),
                                             targets: Array(masks[r].map(\.targets).joined()),
                                             lengths: masks[r].map(\.inputs.count), tape: tapes[w])
                }
            }
        }
        let sum = parts.reduce(0.0) { $0 + $1.sum }, count = parts.reduce(0) { $0 + $1.count }
        let correct = parts.reduce(0) { $0 + $1.correct }
        return ValidationResult(count: count, loss: count > 0 ? sum / Double(count) : .nan,
                                accuracy: count > 0 ? Double(correct) / Double(count) : .nan, recall: [])
    }

    func keepBest() throws {
        best = loop.shardGrads[0].parameters.map { $0.value.copy() }
    }

    func restoreBest() {
        if let best { for (p, b) in zip(loop.shardGrads[0].parameters, best) { p.value.data.update(from: b.ptr, count: p.count) } }
    }
}
