import Foundation
import MambaKernels
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
    public var evalEvery: Int?               // default: 4 times per epoch
    public var patience = 4                  // evaluations without a better validation loss before stopping
    public var checkpointEvery = 0           // steps; 0 = no checkpoints
    public var checkpointDirectory: String?
    public var resume = false
    public var stopAfterStep: Int?           // end this run after that step (a later `resume` continues it)
    public var logEvery = 20
    public init() {}
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

/// Mini-batch training of a `SequenceClassifier`: packed batches, random-strand augmentation,
/// cross-entropy, global-norm clipping, warm-up + cosine learning rate, AdamW; validation every
/// `evalEvery` steps with early stopping on the validation loss (the best weights are restored at the end);
/// checkpoints for `resume`.
///
/// Parallelism: a batch is split into `shards` contiguous groups of sequences; `threads` workers run whole
/// shards (single-threaded kernels), each shard into its own gradient buffers, which are then summed in
/// shard order. The result is deterministic for a given seed and shard count, whatever the thread count.
public final class ClassifierTrainer {
    public let model: SequenceClassifier
    public let train: [LabelledSequence]
    public let validation: [LabelledSequence]
    public let options: ClassifierTrainingOptions
    let shardGrads: [ParameterSet]
    let optimizer: ResumableAdamW
    var batches: TrainingBatches
    public let totalSteps: Int
    let warmup: Int
    public let evalEvery: Int

    // Run state (saved in checkpoints).
    var step = 0
    var tokensSeen = 0
    var elapsedBefore = 0.0            // training seconds before a resume
    var bestLoss = Double.infinity
    var bestStep = 0
    var evalsWithoutImprovement = 0
    var best: SequenceClassifier?
    var bestResult: ValidationResult?

    public init(model: SequenceClassifier, train: [LabelledSequence], validation: [LabelledSequence],
                options: ClassifierTrainingOptions) {
        precondition(!train.isEmpty)
        self.model = model; self.train = train; self.validation = validation; self.options = options
        let shards = max(1, options.shards)
        shardGrads = (0..<shards).map { _ in ParameterSet(model.namedTensors()) }
        optimizer = ResumableAdamW(config: .init(weightDecay: options.weightDecay))
        let maxLen = max(1, min(options.maxLength, options.batchTokens))
        batches = TrainingBatches(lengths: train.map { min($0.tokens.count, maxLen) },
                                  batchTokens: options.batchTokens, seed: options.seed)
        let perEpoch = batches.batches(epoch: 0).count
        totalSteps = max(1, options.steps ?? Int((options.epochs * Double(perEpoch)).rounded(.up)))
        warmup = min(options.warmupSteps ?? min(500, totalSteps / 20), totalSteps)
        evalEvery = max(1, options.evalEvery ?? max(1, perEpoch / 4))
    }

    public var stepsPerEpoch: Int { batches.lengths.isEmpty ? 0 : mutatingBatchCount() }
    private func mutatingBatchCount() -> Int { var b = batches; return b.batches(epoch: 0).count }

    public var schedule: WarmupCosineSchedule {
        WarmupCosineSchedule(peak: options.learningRate, floor: options.learningRate * options.minLearningRateRatio,
                             warmupSteps: warmup, totalSteps: totalSteps)
    }

    public func run(_ log: (TrainingEvent) -> Void = { _ in }) throws -> TrainingSummary {
        if options.resume, let dir = options.checkpointDirectory {
            try restoreCheckpoint(dir)
            log(.resumed(step: step))
        }
        let saved = KernelThreads.count
        KernelThreads.count = 1
        Gemm.setThreads(1)
        defer { KernelThreads.count = saved; Gemm.setThreads(saved) }
        let tapes = (0..<min(max(1, options.threads), shardGrads.count)).map { _ in ClassifierTape() }
        let start = Date()
        var windowLoss = 0.0, windowCorrect = 0, windowSeqs = 0, windowSteps = 0, lastLoss = Double.nan
        var summary = TrainingSummary()
        while step < totalSteps {
            let (loss, correct, seqs, tokens) = trainStep(tapes: tapes)
            tokensSeen += tokens
            step += 1
            windowLoss += loss; windowCorrect += correct; windowSeqs += seqs; windowSteps += 1
            let elapsed = elapsedBefore + Date().timeIntervalSince(start)
            if step % options.logEvery == 0 || step == totalSteps {
                lastLoss = windowLoss / Double(max(windowSteps, 1))
                log(.progress(TrainingProgress(
                    step: step, totalSteps: totalSteps, epoch: epochs(at: step), loss: lastLoss,
                    accuracy: Double(windowCorrect) / Double(max(windowSeqs, 1)),
                    learningRate: schedule.learningRate(at: step - 1),
                    tokensPerSecond: Double(tokensSeen) / max(elapsed, 1e-9), elapsed: elapsed,
                    eta: elapsed / Double(step) * Double(totalSteps - step))))
                windowLoss = 0; windowCorrect = 0; windowSeqs = 0; windowSteps = 0
            }
            var stop = false
            if !validation.isEmpty && (step % evalEvery == 0 || step == totalSteps) {
                let r = evaluate(validation)
                let improved = r.loss < bestLoss - 1e-5
                if improved {
                    bestLoss = r.loss; bestStep = step; bestResult = r; evalsWithoutImprovement = 0
                    if let best { best.load(weightsOf: model) } else { best = try model.copy() }
                } else {
                    evalsWithoutImprovement += 1
                }
                log(.validation(step: step, r, improved: improved))
                if evalsWithoutImprovement >= options.patience && step < totalSteps {
                    log(.stoppedEarly(step: step, bestStep: bestStep))
                    summary.stoppedEarly = true
                    stop = true
                }
            }
            if let dir = options.checkpointDirectory, options.checkpointEvery > 0,
               step % options.checkpointEvery == 0 || stop || step == totalSteps {
                try saveCheckpoint(dir, elapsed: elapsed)
                log(.checkpoint(step: step, path: dir))
            }
            if stop { break }
            if let last = options.stopAfterStep, step >= last, step < totalSteps {
                if let dir = options.checkpointDirectory { try saveCheckpoint(dir, elapsed: elapsed); log(.checkpoint(step: step, path: dir)) }
                break
            }
        }
        let seconds = elapsedBefore + Date().timeIntervalSince(start)
        if let best { model.load(weightsOf: best) }
        summary.steps = step
        summary.epochs = epochs(at: step)
        summary.tokens = tokensSeen
        summary.seconds = seconds
        summary.tokensPerSecond = Double(tokensSeen) / max(summary.seconds, 1e-9)
        summary.finalTrainingLoss = lastLoss
        summary.best = bestResult
        summary.bestStep = bestStep
        return summary
    }

    func epochs(at s: Int) -> Double {
        guard s > 0 else { return 0 }
        let (e, b) = batches.position(ofStep: s - 1)
        return Double(e) + Double(b + 1) / Double(batches.batches(epoch: e).count)
    }

    /// One optimiser step on the batch of the current step. Returns (loss, correct, sequences, tokens).
    func trainStep(tapes: [ClassifierTape]) -> (Double, Int, Int, Int) {
        let (epoch, b) = batches.position(ofStep: step)
        let indices = batches.batches(epoch: epoch)[b]
        // Per-step randomness (strand, crop window) from (seed, step): independent of threads and resumes.
        var rng = RandomSource(seed: mix(options.seed, 0xA06_0000_0000 &+ UInt64(step)))
        let maxLen = batches.lengths.isEmpty ? 0 : max(1, min(options.maxLength, options.batchTokens))
        var seqs: [[Int]] = [], labels: [Int] = []
        for i in indices {
            var t = train[i].tokens
            if t.count > maxLen {
                let s = rng.nextInt(below: t.count - maxLen + 1)
                t = Array(t[s..<(s + maxLen)])
            }
            if options.reverseComplement && rng.next() & 1 == 1 { t = DNATokenizer.reverseComplement(t) }
            seqs.append(t.map { Int($0) }); labels.append(train[i].label)
        }
        // Contiguous shards of about equal token counts.
        let S = shardGrads.count, total = seqs.reduce(0) { $0 + $1.count }
        var bounds = [0], acc = 0
        for (k, s) in seqs.enumerated() {
            acc += s.count
            if bounds.count < S && acc * S >= total * bounds.count && k + 1 < seqs.count { bounds.append(k + 1) }
        }
        while bounds.count < S { bounds.append(seqs.count) }
        bounds.append(seqs.count)
        var results = [ClassifierBackward.Result](repeating: .init(loss: 0, correct: 0), count: S)
        let workers = tapes.count
        let model = self.model, grads = shardGrads, divisor = seqs.count
        results.withUnsafeMutableBufferPointer { res in
            let resPtr = res.baseAddress!
            KernelThreads.run(workers) { w in
                for s in stride(from: w, to: S, by: workers) {
                    grads[s].zeroGrad()
                    let r = bounds[s]..<bounds[s + 1]
                    if r.isEmpty { continue }
                    resPtr[s] = ClassifierBackward.lossAndGradients(
                        model, tokens: Array(seqs[r].joined()), lengths: seqs[r].map(\.count),
                        labels: Array(labels[r]), divisor: divisor, grads: grads[s], tape: tapes[w])
                }
            }
        }
        // Sum the shard gradients into shard 0's buffers, in shard order.
        let main = shardGrads[0].parameters
        for s in 1..<S where bounds[s] < bounds[s + 1] {
            for (p, q) in zip(main, shardGrads[s].parameters) {
                let g = p.grad.data, h = q.grad.ptr
                for k in 0..<p.count { g[k] += h[k] }
            }
        }
        let loss = results.reduce(0.0) { $0 + Double($1.loss) }
        let norm = GradientClipping.clipGlobalNorm(main, maxNorm: options.clipNorm)
        if norm.isFinite { optimizer.step(main, learningRate: schedule.learningRate(at: step)) }
        return (loss, results.reduce(0) { $0 + $1.correct }, seqs.count, total)
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
