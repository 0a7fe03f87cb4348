import Foundation
import MambaModel

/// The classifier's part of a checkpoint directory (`TrainingCheckpoint.swift`):
///   model/                 the current weights (a loadable classifier directory)
///   best/                  the best weights by validation loss so far (when there was a validation)
extension ClassifierTrainer {
    var fingerprint: String {
        var f = Fingerprint()
        f.add(train.count, validation.count, model.classCount, model.dModel)
        f.add(model.encoder.layerCount, options.batchTokens, loop.totalSteps, Int(options.seed & 0x7fff_ffff))
        f.add(loop.shardGrads.count)
        // Mamba classifiers keep the fingerprint they had before other backbones existed.
        if model.encoder.architecture != .mamba { f.add(EncoderArchitecture.allCases.firstIndex(of: model.encoder.architecture)!) }
        for s in train { f.add(s.tokens.count, s.label) }
        // Runs without augmentation keep the fingerprint they had before it existed.
        if !options.augmentation.isIdentity {
            f.add(Int(options.substitutionRate * 1e9), Int(options.indelRate * 1e9))
        }
        return f.text
    }

    func writeWeights(to directory: URL) throws {
        try ClassifierDirectory.save(model, to: directory.appendingPathComponent("model").path)
        if let best { try ClassifierDirectory.save(best, to: directory.appendingPathComponent("best").path) }
    }

    func readWeights(from directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        let current = try ClassifierDirectory.load(dir.appendingPathComponent("model").path)
        guard current.labels == model.labels else {
            throw ModelError.invalidModel(path: directory, reason: "checkpoint labels \(current.labels) differ from \(model.labels)")
        }
        model.load(weightsOf: current)
        let bestDir = dir.appendingPathComponent("best").path
        if FileManager.default.fileExists(atPath: bestDir) { best = try ClassifierDirectory.load(bestDir) }
    }
}
