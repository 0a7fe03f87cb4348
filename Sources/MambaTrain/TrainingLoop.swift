import Foundation
import MambaModel

/// The training loop shared by the trainers: packed batches, gradient shards, global-norm clipping,
/// warm-up + cosine learning rate, AdamW; progress reports, validation every `evalEvery` steps with early
/// stopping on the validation loss (the best weights are restored at the end); checkpoints for `resume`.
///
/// Parallelism: a batch is split into `shards` contiguous groups of sequences; `threads` workers run whole
/// shards (single-threaded kernels), each shard into its own gradient buffers, which are then summed in
/// shard order. The result is deterministic for a given seed and shard count, whatever the thread count.
final class TrainingLoop {
    let options: ClassifierTrainingOptions
    let shardGrads: [ParameterSet]
    let optimizer: ResumableAdamW
    var batches: TrainingBatches
    let totalSteps: Int
    let warmup: Int
    let evalEvery: Int
    let validates: Bool
    /// How the learning rate moves: `schedule` per step, or a cosine over whole epochs (the dense heads).
    var epochCosine = false
    /// A validation loss counts as better when it is this much below the best so far.
    var minImprovement = 1e-5

    // Run state (saved in checkpoints).
    var step = 0
    var tokensSeen = 0
    var elapsedBefore = 0.0            // training seconds before a resume
    var bestLoss = Double.infinity
    var bestStep = 0
    var evalsWithoutImprovement = 0
    var bestResult: ValidationResult?

    /// `lengths`: the training sequences' lengths; `validates`: whether there is a validation set.
    init(parameters: [(String, Tensor)], lengths: [Int], validates: Bool, options: ClassifierTrainingOptions,
         order: TrainingBatches.Order = .packed) {
        self.options = options; self.validates = validates
        shardGrads = (0..<max(1, options.shards)).map { _ in ParameterSet(parameters) }
        optimizer = ResumableAdamW(config: .init(weightDecay: options.weightDecay))
        let maxLen = options.windowLength
        batches = TrainingBatches(lengths: lengths.map { min($0, maxLen) }, batchTokens: options.batchTokens,
                                  seed: options.seed, order: order)
        let perEpoch = batches.batches(epoch: 0).count
        totalSteps = max(1, options.steps ?? Int((options.epochs * Double(perEpoch)).rounded(.up)))
        warmup = min(options.warmupSteps ?? min(500, totalSteps / 20), totalSteps)
        evalEvery = max(1, options.evalEvery ?? max(1, perEpoch / 4))
    }

    /// Longer sequences are trained on a random window of this length.
    var maxLength: Int { options.windowLength }

    var stepsPerEpoch: Int { var b = batches; return b.batches(epoch: 0).count }

    var schedule: WarmupCosineSchedule {
        WarmupCosineSchedule(peak: options.learningRate, floor: options.learningRate * options.minLearningRateRatio,
                             warmupSteps: warmup, totalSteps: totalSteps)
    }

    /// The learning rate of 0-based step s.
    func learningRate(at s: Int) -> Float {
        guard epochCosine else { return schedule.learningRate(at: s) }
        let epochs = max(1, Int(options.epochs.rounded(.up))), e = batches.position(ofStep: s).epoch
        return options.learningRate * Float(0.5 * (1 + cos(Double.pi * Double(e) / Double(epochs))))
    }

    func epochs(at s: Int) -> Double {
        guard s > 0 else { return 0 }
        let (e, b) = batches.position(ofStep: s - 1)
        return Double(e) + Double(b + 1) / Double(batches.batches(epoch: e).count)
    }

    func run<O: TrainingObjective>(_ objective: O, _ log: (TrainingEvent) -> Void) throws -> TrainingSummary {
        if options.resume, let dir = options.checkpointDirectory {
            try restoreCheckpoint(objective, from: dir)
            log(.resumed(step: step))
        }
        let tapes = (0..<min(max(1, options.threads), shardGrads.count)).map { _ in objective.makeTape() }
        let start = Date()
        var windowLoss = 0.0, windowCorrect = 0, windowSeqs = 0, windowSteps = 0, lastLoss = Double.nan
        var summary = TrainingSummary()
        while step < totalSteps {
            let (loss, correct, seqs, tokens) = trainStep(objective, tapes: tapes)
            // The step already moved the weights to non-finite values: stop before anything is written, so the
            // output is not created and the last checkpoint stays the last good one.
            guard loss.isFinite else { throw TrainingDiverged(step: step + 1, loss: loss) }
            tokensSeen += tokens
            step += 1
            windowLoss += loss; windowCorrect += correct; windowSeqs += seqs; windowSteps += 1
            let elapsed = elapsedBefore + Date().timeIntervalSince(start)
            if step % options.logEvery == 0 || step == totalSteps {
                lastLoss = windowLoss / Double(max(windowSteps, 1))
                log(.progress(TrainingProgress(
                    step: step, totalSteps: totalSteps, epoch: epochs(at: step), loss: lastLoss,
                    accuracy: objective.reportsAccuracy ? Double(windowCorrect) / Double(max(windowSeqs, 1)) : .nan,
                    learningRate: learningRate(at: step - 1),
                    tokensPerSecond: Double(tokensSeen) / max(elapsed, 1e-9), elapsed: elapsed,
                    eta: elapsed / Double(step) * Double(totalSteps - step))))
                windowLoss = 0; windowCorrect = 0; windowSeqs = 0; windowSteps = 0
            }
            var stop = false
            if validates && (step % evalEvery == 0 || step == totalSteps) {
                let r = objective.validate(tapes: tapes)
                let improved = r.loss < bestLoss - minImprovement
                if improved {
                    bestLoss = r.loss; bestStep = step; bestResult = r; evalsWithoutImprovement = 0
                    try objective.keepBest()
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
                try saveCheckpoint(objective, to: dir, elapsed: elapsed)
                log(.checkpoint(step: step, path: dir))
            }
            if stop { break }
            if let last = options.stopAfterStep, step >= last, step < totalSteps {
                if let dir = options.checkpointDirectory {
                    try saveCheckpoint(objective, to: dir, elapsed: elapsed)
                    log(.checkpoint(step: step, path: dir))
                }
                break
            }
        }
        summary.seconds = elapsedBefore + Date().timeIntervalSince(start)
        objective.restoreBest()
        summary.steps = step
        summary.epochs = epochs(at: step)
        summary.tokens = tokensSeen
        summary.tokensPerSecond = Double(tokensSeen) / max(summary.seconds, 1e-9)
        summary.finalTrainingLoss = lastLoss
        summary.best = bestResult
        summary.bestStep = bestStep
        return summary
    }

    /// One optimiser step on the batch of the current step. Returns (loss, correct, sequences, tokens).
    func trainStep<O: TrainingObjective>(_ objective: O, tapes: [O.Tape]) -> (Double, Int, Int, Int) {
        let (epoch, b) = batches.position(ofStep: step)
        let (batch, lengths, trains) = objective.batch(batches.batches(epoch: epoch)[b], step: step)
        let S = shardGrads.count, bounds = Self.shardBounds(lengths: lengths, shards: S)
        var results = [ShardLoss](repeating: ShardLoss(), count: S)
        let grads = shardGrads, workers = tapes.count
        results.withUnsafeMutableBufferPointer { res in
            let out = res.baseAddress!
            Parallel.run(workers) { w in
                for s in stride(from: w, to: S, by: workers) {
                    grads[s].zeroGrad()
                    let r = bounds[s]..<bounds[s + 1]
                    if r.isEmpty || !trains { continue }
                    out[s] = objective.lossAndGradients(batch, sequences: r, grads: grads[s], tape: tapes[w])
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
        let norm = GradientClipping.clipGlobalNorm(main, maxNorm: options.clipNorm)
        if norm.isFinite && trains { optimizer.step(main, learningRate: learningRate(at: step)) }
        return (results.reduce(0.0) { $0 + Double($1.loss) }, results.reduce(0) { $0 + $1.correct },
                lengths.count, lengths.reduce(0, +))
    }

    /// Shard s covers sequences bounds[s]..<bounds[s+1]: contiguous groups of about equal token counts.
    static func shardBounds(lengths: [Int], shards S: Int) -> [Int] {
        let total = lengths.reduce(0, +)
        var bounds = [0], acc = 0
        for (k, n) in lengths.enumerated() {
            acc += n
            if bounds.count < S && acc * S >= total * bounds.count && k + 1 < lengths.count { bounds.append(k + 1) }
        }
        while bounds.count < S { bounds.append(lengths.count) }
        bounds.append(lengths.count)
        return bounds
    }
}

/// The loss became NaN or infinite: the learning rate is too high for this model and data.
public struct TrainingDiverged: Error, CustomStringConvertible {
    public let step: Int
    public let loss: Double
    public var description: String { "training diverged at step \(step) (loss = \(loss)); lower the learning rate (--lr)" }
}
