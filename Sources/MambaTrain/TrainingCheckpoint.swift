import Foundation
import MambaModel

/// Checkpoints of a classifier run, for `resume`. A checkpoint directory holds
///   model/                 the current weights (a loadable classifier directory)
///   best/                  the best weights by validation loss so far (when there was a validation)
///   optimizer.safetensors  AdamW moments `m.<name>`, `v.<name>`
///   state.json             step, tokens seen, seconds, early-stopping state, and a fingerprint of the data
///                          and settings (a resume with other data or settings is refused)
/// It is written to a temporary sibling and renamed over the old one, so an interrupted save keeps the
/// previous checkpoint.
extension ClassifierTrainer {
    var fingerprint: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ x: Int) { h = (h ^ UInt64(bitPattern: Int64(x))) &* 0x100_0000_01b3 }
        add(train.count); add(validation.count); add(model.classCount); add(model.dModel)
        add(model.encoder.layers.count); add(options.batchTokens); add(totalSteps); add(Int(options.seed & 0x7fff_ffff))
        add(shardGrads.count)
        for s in train { add(s.tokens.count); add(s.label) }
        return String(h, radix: 16)
    }

    func saveCheckpoint(_ directory: String, elapsed: Double) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: directory).standardizedFileURL
        let tmp = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).tmp-\(getpid())")
        try? fm.removeItem(at: tmp)
        do {
            try ClassifierDirectory.save(model, to: tmp.appendingPathComponent("model").path)
            if let best { try ClassifierDirectory.save(best, to: tmp.appendingPathComponent("best").path) }
            let names = shardGrads[0].parameters.map(\.name)
            try Safetensors.write(optimizer.stateTensors(names: names).map { (name: $0.0, value: .f32($0.1)) },
                                  to: tmp.appendingPathComponent("optimizer.safetensors").path)
            var state: [String: Any] = [
                "step": step, "tokens": tokensSeen, "seconds": elapsed, "best_step": bestStep,
                "evals_without_improvement": evalsWithoutImprovement, "fingerprint": fingerprint,
                "optimizer_step": optimizer.stepCount,
            ]
            if bestLoss.isFinite { state["best_loss"] = bestLoss }
            if let r = bestResult {
                state["best_accuracy"] = r.accuracy
                state["best_recall"] = r.recall.map { $0.isNaN ? -1 : $0 }
                state["best_count"] = r.count
            }
            try ClassifierDirectory.writeJSON(state, to: tmp.appendingPathComponent("state.json").path)
            let old = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).old-\(getpid())")
            if fm.fileExists(atPath: target.path) { try fm.moveItem(at: target, to: old) }
            try fm.moveItem(at: tmp, to: target)
            try? fm.removeItem(at: old)
        } catch {
            try? fm.removeItem(at: tmp)
            throw ClassifierDirectory.Failure("cannot write checkpoint \(directory): \(error)")
        }
    }

    func restoreCheckpoint(_ directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent("state.json").path),
              let state = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let savedStep = state["step"] as? Int else {
            throw ClassifierDirectory.Failure("\(directory): no checkpoint to resume from (state.json missing or unreadable)")
        }
        guard state["fingerprint"] as? String == fingerprint else {
            throw ClassifierDirectory.Failure("\(directory): the checkpoint was made with other training data or settings; cannot resume")
        }
        let current = try ClassifierDirectory.load(dir.appendingPathComponent("model").path)
        guard current.labels == model.labels else {
            throw ClassifierDirectory.Failure("\(directory): checkpoint labels \(current.labels) differ from \(model.labels)")
        }
        model.load(weightsOf: current)
        let bestDir = dir.appendingPathComponent("best").path
        if FileManager.default.fileExists(atPath: bestDir) { best = try ClassifierDirectory.load(bestDir) }
        try optimizer.restore(step: state["optimizer_step"] as? Int ?? savedStep,
                              from: SafetensorsFile(path: dir.appendingPathComponent("optimizer.safetensors").path),
                              parameters: shardGrads[0].parameters)
        step = savedStep
        tokensSeen = state["tokens"] as? Int ?? 0
        elapsedBefore = state["seconds"] as? Double ?? 0
        bestStep = state["best_step"] as? Int ?? 0
        evalsWithoutImprovement = state["evals_without_improvement"] as? Int ?? 0
        bestLoss = state["best_loss"] as? Double ?? .infinity
        if let acc = state["best_accuracy"] as? Double, let rec = state["best_recall"] as? [Double] {
            bestResult = ValidationResult(count: state["best_count"] as? Int ?? validation.count, loss: bestLoss,
                                          accuracy: acc, recall: rec.map { $0 < 0 ? .nan : $0 })
        }
    }
}
