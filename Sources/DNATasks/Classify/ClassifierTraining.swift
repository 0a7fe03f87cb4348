import FileOutput
import Foundation
import MambaModel
import MambaTrain

/// The encoders `train --arch` names (mamba, caduceus-ps, caduceus-ph), for the CLI.
public typealias EncoderArchitecture = MambaModel.EncoderArchitecture

/// `train --task classify`: labelled reads in, a classifier model directory out.
public enum ClassifierTraining {
    public struct Options {
        public var inputs: [String]
        public var output: String
        public var labelKey = "label"
        public var labelsFile: String?
        public var initFrom: String?
        /// The backbone; nil: mamba for a fresh model, that of `initFrom` (a different one is an error).
        public var architecture: EncoderArchitecture?
        public var dModel: Int?                 // defaults 64 / 4 / 16 / 2 for a fresh model
        public var layers: Int?
        public var dState: Int?
        public var expand: Int?
        public var validationFraction = 0.05
        public var validationMax = 6000
        /// Header key of the groups to hold out whole for validation (e.g. genus); nil: a random share of the reads.
        public var validationGroupKey: String?
        public var force = false
        public var rcAverage = true
        /// Sequence pooling of a new head; `nil`: that of the `--init` classifier, else mean.
        public var pooling: ClassifierPooling?
        public var reference: String?
        public var training = ClassifierTrainingOptions()
        /// Checks the class names read from the input and returns extra `config.json` entries for the model
        /// directory (e.g. `train --task motif` names the bound class); `nil`: none.
        public var extraConfig: (([String]) throws -> [String: Any])?
        /// Also build a k-mer sketch of the training reads (not the validation ones) into the model directory.
        public var kmerSketch: KmerSketch.Parameters?
        public init(inputs: [String], output: String) { self.inputs = inputs; self.output = output }

        /// Sets `pooling` from its config.json name (mean, max, logsumexp); false for another name.
        public mutating func setPooling(named name: String) -> Bool {
            guard let p = ClassifierPooling(rawValue: name) else { return false }
            pooling = p
            return true
        }
    }


    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void) throws -> TrainingSummary {
        let out = try outputURL(o.output, force: o.force)
        if o.validationGroupKey != nil && o.validationFraction <= 0 {
            throw ToolError("--val-group-key needs a --val-fraction above 0")
        }
        let data = try LabelledInput.read(inputs: o.inputs, labelKey: o.labelKey, labelsFile: o.labelsFile,
                                          reference: o.reference, groupKey: o.validationGroupKey)
        let extra = try o.extraConfig?(data.labels) ?? [:]
        let train: [LabelledSequence], heldOut: [LabelledSequence], heldGroups: [String]
        if o.validationGroupKey != nil {
            (train, heldOut, heldGroups) = data.splitByGroup(fraction: o.validationFraction, maxCount: o.validationMax,
                                                             seed: o.training.seed)
        } else {
            (train, heldOut) = data.split(fraction: o.validationFraction, maxCount: o.validationMax, seed: o.training.seed)
            heldGroups = []
        }
        guard !train.isEmpty else { throw ToolError("no training reads left after the validation split") }
        // Reads longer than the training window are validated on fixed windows of it, as they are trained.
        let window = o.training.windowLength
        let val = ValidationSplit.windows(heldOut, length: window, maxCount: o.validationMax)
        let counts = data.labels.indices.map { c in data.sequences.lazy.filter { $0.label == c }.count }
        log("classes: " + zip(data.labels, counts).map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        log("reads: \(train.count) train, \(heldOut.count) validation (held out from the training input"
            + (o.validationGroupKey.map { ": \(heldGroups.count) whole \($0) groups" } ?? "") + ")"
            + (val.count != heldOut.count || heldOut.contains(where: { $0.tokens.count > window })
               ? "; validated on \(val.count) windows of at most \(window) bases" : ""))
        if !o.training.augmentation.isIdentity {
            log("augmentation: substitution rate \(o.training.substitutionRate), indel rate \(o.training.indelRate)")
        }

        if let problem = o.kmerSketch?.problem { throw ToolError(problem) }
        let sketch = o.kmerSketch.map {
            KmerIndexTraining.index(of: train, labels: data.labels, parameters: .sketch($0), threads: o.training.threads, log: log)
        }

        let model = try makeModel(o, labels: data.labels)
        let enc = model.encoder, mixer = enc.mixer
        log("model: \(enc.architecture.rawValue), d_model \(enc.dModel), \(enc.layerCount) layers, d_state \(mixer.dState), "
            + "d_inner \(mixer.dInner), \(model.pooling.rawValue) pooling, "
            + "\(model.namedTensors().reduce(0) { $0 + $1.1.count }) parameters" + (o.initFrom.map { ", from \($0)" } ?? ""))

        let topts = checkpointed(o.training, output: out)
        let trainer = ClassifierTrainer(model: model, train: train, validation: val, options: topts)
        log("steps: \(trainer.totalSteps) (\(trainer.stepsPerEpoch) per epoch of ≈\(topts.batchTokens) tokens), "
            + "validation every \(trainer.evalEvery), threads \(topts.threads)")
        let summary = try trainer.run { event in log(describe(event, labels: data.labels)) }

        try writeOutput(out) { tmp in
            try ClassifierDirectory.save(model, to: tmp.path, extra: extra)
            try sketch?.save(to: tmp.appendingPathComponent(KmerIndex.fileName(.sketch)).path)
            let reloaded = try ClassifierDirectory.load(tmp.path)
            // The saved model must predict exactly what the trained one does.
            let probe = Array(val.prefix(64).map(\.tokens)) + Array(train.prefix(val.isEmpty ? 64 : 0).map(\.tokens))
            let a = ClassifierPredictor(model: model, threads: 1).logits(probe)
            let b = ClassifierPredictor(model: reloaded, threads: 1).logits(probe)
            guard a == b else { throw ToolError("internal error: the saved model does not reproduce the trained one") }
            var split: [String: Any] = ["reads": heldOut.count, "items": val.count, "window": window,
                                        "fraction": o.validationFraction]
            if let key = o.validationGroupKey { split["group_key"] = key; split["held_out_groups"] = heldGroups }
            try writeSummary(summary, labels: data.labels, options: topts,
                             extra: ["max_length": topts.maxLength, "substitution_rate": topts.substitutionRate,
                                     "indel_rate": topts.indelRate, "validation_split": split],
                             to: tmp.appendingPathComponent("training_summary.json").path)
        }
        removeDefaultCheckpoint(topts, requested: o.training)
        log(summaryText(summary, labels: data.labels))
        log("model written to \(o.output)")
        return summary
    }

    /// A fresh model, or the backbone of `--init` (a Mamba or Caduceus checkpoint, or a classifier directory) with a
    /// new head (or the old head when its classes are the same).
    static func makeModel(_ o: Options, labels: [String]) throws -> SequenceClassifier {
        let seed = o.training.seed
        guard let initDir = o.initFrom else {
            let encoder = ClassifierEncoder(try freshEncoder(o.architecture ?? .mamba, dModel: o.dModel, layers: o.layers,
                                                             dState: o.dState, expand: o.expand, seed: seed))!
            return SequenceClassifier(encoder: encoder, labels: labels, seed: seed &+ 1, rcAverage: o.rcAverage,
                                      pooling: o.pooling ?? .mean)
        }
        func incompatible(_ why: String) -> ToolError { ToolError("--init \(initDir): incompatible checkpoint: \(why)") }
        let encoder: ClassifierEncoder
        var previous: SequenceClassifier?
        if ClassifierDirectory.isClassifier(initDir) {
            let c = try ClassifierDirectory.load(initDir)
            encoder = c.encoder
            previous = c
        } else {
            let loaded: any SequenceModel
            do { loaded = try MambaCheckpoint.load(initDir) } catch { throw incompatible("\(error)") }
            guard let e = ClassifierEncoder(loaded) else {
                throw incompatible("\(loaded.architecture) backbones cannot be fine-tuned (Mamba or Caduceus only)")
            }
            encoder = e
        }
        try checkArchitecture(o.architecture, of: encoder.model, directory: initDir)
        guard encoder.vocabSize >= DNATokenizer.vocabularySize else {
            throw incompatible("vocabulary of \(encoder.vocabSize) tokens; the DNA tokenizer needs \(DNATokenizer.vocabularySize)")
        }
        if case .caduceus(let m) = encoder, m.config.rcps,
           m.complementMap.prefix(DNATokenizer.vocabularySize).map(Int32.init) != DNATokenizer.complementMap {
            throw incompatible("its complement_map does not pair A/T and C/G at the DNA tokenizer's ids")
        }
        let mixer = encoder.mixer
        for (name, want, have) in [("--d-model", o.dModel, encoder.dModel), ("--layers", o.layers, encoder.layerCount),
                                   ("--d-state", o.dState, mixer.dState), ("--expand", o.expand, mixer.expand)] {
            if let want, want != have { throw incompatible("\(name) \(want), but the checkpoint has \(have)") }
        }
        let pooling = o.pooling ?? previous?.pooling ?? .mean
        if let p = previous, p.labels == labels {
            return SequenceClassifier(encoder: encoder, head: p.head, headBias: p.headBias, labels: labels, rcAverage: o.rcAverage,
                                      pooling: pooling)
        }
        return SequenceClassifier(encoder: encoder, labels: labels, seed: seed &+ 1, rcAverage: o.rcAverage, pooling: pooling)
    }

    /// Fresh weights of `architecture` in the requested shape (defaults: d_model 64, 4 layers, d_state 16, expand 2).
    static func freshEncoder(_ architecture: EncoderArchitecture, dModel: Int?, layers: Int?, dState: Int?, expand: Int?,
                             seed: UInt64) throws -> any SequenceModel {
        let d = dModel ?? 64, layers = layers ?? 4, dState = dState ?? 16, expand = expand ?? 2
        guard d >= 1, layers >= 1, dState >= 1, expand >= 1 else {
            throw ToolError("--d-model, --layers, --d-state and --expand must be positive")
        }
        return try architecture.randomModel(MixerConfig(dModel: d, dState: dState, expand: expand), layers: layers, seed: seed)
    }

    /// An explicit `--arch` must name the architecture of the `--init` checkpoint.
    static func checkArchitecture(_ wanted: EncoderArchitecture?, of model: any SequenceModel, directory: String) throws {
        guard let wanted, let have = EncoderArchitecture(of: model), have != wanted else { return }
        throw ToolError("--init \(directory) is a \(have.rawValue) checkpoint, not --arch \(wanted.rawValue) "
                      + "(leave --arch out to take the checkpoint's)")
    }
}

// Output handling shared with `MaskedLMTraining`.
extension ClassifierTraining {
    /// The output directory; an existing one is refused unless `force`.
    static func outputURL(_ path: String, force: Bool) throws -> URL {
        let out = URL(fileURLWithPath: path).standardizedFileURL
        if FileManager.default.fileExists(atPath: out.path) && !force {
            throw ToolError("\(path) already exists (use --force to replace it)")
        }
        // Checked before training, not after: a missing folder or a file in the way would otherwise end the run
        // only once the model is trained.
        try OutputPath.validate(out.path, kind: .directory)
        return out
    }

    /// `training` with the checkpoint directory defaulting to `<output>.checkpoint` when checkpoints are on.
    static func checkpointed(_ training: ClassifierTrainingOptions, output: URL) -> ClassifierTrainingOptions {
        var t = training
        if t.checkpointEvery > 0 && t.checkpointDirectory == nil { t.checkpointDirectory = output.path + ".checkpoint" }
        return t
    }

    /// Has `write` fill a temporary sibling of the directory `out` (`OutputPath`), then swaps it in for `out`:
    /// a failed or interrupted run leaves no half-written model directory.
    static func writeOutput(_ out: URL, _ write: (URL) throws -> Void) throws {
        let output = try OutputPath(out.path, kind: .directory)
        do {
            try write(URL(fileURLWithPath: output.writePath))
            try output.commit()
        } catch {
            output.abandon()
            throw error
        }
    }

    /// Removes the checkpoint directory of `used` when it is the default one (`requested` names none).
    static func removeDefaultCheckpoint(_ used: ClassifierTrainingOptions, requested: ClassifierTrainingOptions) {
        if let ck = used.checkpointDirectory, requested.checkpointDirectory == nil { try? FileManager.default.removeItem(atPath: ck) }
    }
}
