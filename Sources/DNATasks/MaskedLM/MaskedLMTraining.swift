import Foundation
import MambaModel
import MambaTrain

/// `train --task mlm`: unlabelled reads in, a masked-LM model directory out (config.json + model.safetensors
/// + tokenizer files + training_summary.json) that `embed --model` loads.
public enum MaskedLMTraining {
    public typealias Architecture = EncoderArchitecture

    public struct Options {
        public var inputs: [String]
        public var output: String
        /// nil: caduceus-ps for a fresh model, that of the checkpoint with `initFrom` (a different one is an error).
        public var architecture: Architecture?
        public var initFrom: String?
        public var dModel: Int?                 // defaults 64 / 4 / 16 / 2 for a fresh model
        public var layers: Int?
        public var dState: Int?
        public var expand: Int?
        public var maskProbability = 0.15
        public var validationFraction = 0.05
        public var validationMax = 6000
        public var force = false
        public var reference: String?
        public var training = ClassifierTrainingOptions()
        public init(inputs: [String], output: String) { self.inputs = inputs; self.output = output }
    }


    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void) throws -> TrainingSummary {
        let out = try ClassifierTraining.outputURL(o.output, force: o.force)
        guard !o.inputs.isEmpty else { throw ToolError("no input files") }
        var sequences: [[Int32]] = []
        for path in o.inputs {
            let before = sequences.count
            try ReadSource.forEach(path, reference: o.reference) { r in
                if !r.bases.isEmpty { sequences.append(DNATokenizer.encode(r.bases)) }
            }
            if sequences.count == before { throw ToolError("\(path): no sequences (empty input)") }
        }
        let (train, val) = split(sequences, fraction: o.validationFraction, maxCount: o.validationMax, seed: o.training.seed)
        log("reads: \(train.count) train (\(train.reduce(0) { $0 + $1.count }) bases), \(val.count) validation "
            + "(held out from the training input)")

        let network = try makeNetwork(o)
        let trainer = MaskedLMTrainer(network: network, train: train, validation: val,
                                      options: ClassifierTraining.checkpointed(o.training, output: out),
                                      maskProbability: o.maskProbability)
        log("model: \(o.initFrom.map { "from \($0)" } ?? (o.architecture ?? .caduceusPS).rawValue), d_model \(network.model.modelDim), "
            + "\(trainer.parameterCount) parameters; masking \(o.maskProbability) of the bases (80/10/10)")
        log("steps: \(trainer.totalSteps) (\(trainer.stepsPerEpoch) per epoch of ≈\(o.training.batchTokens) tokens), "
            + "validation every \(trainer.evalEvery), threads \(o.training.threads)")
        let summary = try trainer.run { log(describe($0)) }

        try ClassifierTraining.writeOutput(out) { tmp in
            try network.model.save(to: tmp.path)
            try TokenizerFiles.write(to: tmp.path)
            try checkReload(tmp.path, network: network, probe: (val.first ?? train[0]).prefix(512).map(Int.init))
            try ClassifierTraining.writeSummary(summary, labels: [], options: o.training,
                                                to: tmp.appendingPathComponent("training_summary.json").path)
        }
        ClassifierTraining.removeDefaultCheckpoint(trainer.options, requested: o.training)
        log(String(format: "trained %d steps (%.2f epochs, %d tokens) in %@: %.0f tokens/s", summary.steps, summary.epochs,
                   summary.tokens, ClassifierTraining.duration(summary.seconds), summary.tokensPerSecond)
            + (summary.stoppedEarly ? ", stopped early" : ""))
        if let b = summary.best {
            log(String(format: "best validation (step %d): masked-token loss %.4f  accuracy %.4f on %d masked bases",
                       summary.bestStep, b.loss, b.accuracy, b.count))
        }
        log("model written to \(o.output)")
        return summary
    }

    /// A seeded shuffle; `fraction` of the reads (at most `maxCount`, none unless there are two or more) held out.
    static func split(_ seqs: [[Int32]], fraction: Double, maxCount: Int, seed: UInt64) -> ([[Int32]], [[Int32]]) {
        guard fraction > 0, seqs.count >= 2 else { return (seqs, []) }
        var idx = Array(seqs.indices)
        var rng = RandomSource(seed: seed ^ 0x7A11_DA7E)
        rng.shuffle(&idx)
        let k = min(seqs.count - 1, maxCount, max(1, Int((Double(seqs.count) * fraction).rounded())))
        let held = Set(idx.prefix(k))
        return (seqs.indices.filter { !held.contains($0) }.map { seqs[$0] }, idx.prefix(k).sorted().map { seqs[$0] })
    }

    static func makeNetwork(_ o: Options) throws -> MaskedLMNetwork {
        if let dir = o.initFrom {
            let loaded: any SequenceModel
            do { loaded = try MambaCheckpoint.load(dir) } catch { throw ToolError("--init \(dir): \(error)") }
            guard loaded.vocabSize >= DNATokenizer.vocabularySize else {
                throw ToolError("--init \(dir): vocabulary of \(loaded.vocabSize) tokens; the DNA tokenizer needs \(DNATokenizer.vocabularySize)")
            }
            try ClassifierTraining.checkArchitecture(o.architecture, of: loaded, directory: dir)
            if let m = loaded as? CaduceusModel { return .caduceus(m) }
            if let m = loaded as? MambaLMModel { return .mamba(m) }
            throw ToolError("--init \(dir): \(loaded.architecture) models cannot be trained")
        }
        switch try ClassifierTraining.freshEncoder(o.architecture ?? .caduceusPS, dModel: o.dModel, layers: o.layers,
                                                   dState: o.dState, expand: o.expand, seed: o.training.seed) {
        case let m as CaduceusModel: return .caduceus(m)
        case let m as MambaLMModel: return .mamba(m)
        case let m: throw ToolError("\(m.architecture) models cannot be trained")
        }
    }

    /// The written directory must load and give the hidden states the trained network gives.
    static func checkReload(_ dir: String, network: MaskedLMNetwork, probe: [Int]) throws {
        let reloaded = try MambaCheckpoint.load(dir)
        let a = network.trainingHiddenStates(probe), b = reloaded.hiddenStates(probe.map(Int32.init))
        let scale = max(1, a.reduce(0) { max($0, abs($1)) })
        let diff = zip(a, b).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        guard a.count == b.count, diff <= 1e-4 * scale else {
            throw ToolError("internal error: the saved model does not reproduce the trained one (max difference \(diff))")
        }
    }

    static func describe(_ e: TrainingEvent) -> String {
        switch e {
        case .progress(let p):
            return String(format: "step %d/%d  epoch %.2f  loss %.4f  lr %.2e  %.0f tokens/s", p.step, p.totalSteps,
                          p.epoch, p.loss, Double(p.learningRate), p.tokensPerSecond)
                + "  elapsed \(ClassifierTraining.duration(p.elapsed))  ETA \(ClassifierTraining.duration(p.eta))"
        case .validation(let step, let r, let improved):
            return String(format: "validation at step %d: masked-token loss %.4f  accuracy %.4f (%d masked bases)", step,
                          r.loss, r.accuracy, r.count) + (improved ? "  *best" : "")
        default:
            return ClassifierTraining.describe(e, labels: [])
        }
    }
}
