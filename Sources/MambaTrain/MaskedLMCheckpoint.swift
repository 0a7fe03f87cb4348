import Foundation
import MambaModel

/// The masked-LM part of a checkpoint directory (`TrainingCheckpoint.swift`):
///   weights.safetensors    the current parameters, by name
///   best.safetensors       the best parameters by validation loss so far (when there was a validation)
extension MaskedLMTrainer {
    var fingerprint: String {
        let params = loop.shardGrads[0].parameters
        var f = Fingerprint()
        f.add(train.count, validation.count, parameterCount, params.count)
        f.add(options.batchTokens, options.maxLength, loop.totalSteps, Int(options.seed & 0x7fff_ffff))
        f.add(loop.shardGrads.count, Int(maskProbability * 1e6))
        for s in train { f.add(s.count) }
        return f.text
    }

    func writeWeights(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let params = loop.shardGrads[0].parameters, names = params.map(\.name)
        try Safetensors.write(params.map { (name: $0.name, value: .f32($0.value)) },
                              to: directory.appendingPathComponent("weights.safetensors").path)
        if let best {
            try Safetensors.write(zip(names, best).map { (name: $0.0, value: .f32($0.1)) },
                                  to: directory.appendingPathComponent("best.safetensors").path)
        }
    }

    func readWeights(from directory: String) throws {
        let dir = URL(fileURLWithPath: directory), params = loop.shardGrads[0].parameters
        let weights = try WeightStore(file: SafetensorsFile(path: dir.appendingPathComponent("weights.safetensors").path))
        for p in params {
            let t = try weights.tensor(p.name, shape: p.shape)
            p.value.data.update(from: t.ptr, count: p.count)
        }
        let bestPath = dir.appendingPathComponent("best.safetensors").path
        if FileManager.default.fileExists(atPath: bestPath) {
            let store = try WeightStore(file: SafetensorsFile(path: bestPath))
            best = try params.map { try store.tensor($0.name, shape: $0.shape).copy() }
        }
    }
}
