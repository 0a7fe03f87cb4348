import FileOutput
import Foundation
import MambaModel

/// Checkpoints of a training run, for `resume`. A checkpoint directory holds
///   (weights)              the current and best weights, as the objective writes them
///                          (`ClassifierCheckpoint.swift`, `MaskedLMCheckpoint.swift`)
///   optimizer.safetensors  AdamW moments `m.<name>`, `v.<name>`
///   state.json             step, tokens seen, seconds, early-stopping state, and a fingerprint of the data
///                          and settings (a resume with other data or settings is refused)
/// It is written to a temporary sibling and renamed over the old one, so an interrupted save keeps the
/// previous checkpoint.
extension TrainingLoop {
    func saveCheckpoint<O: TrainingObjective>(_ objective: O, to directory: String, elapsed: Double) throws {
        let output: OutputPath
        do { output = try OutputPath(directory, kind: .directory) } catch {
            throw ModelError.invalidModel(path: directory, reason: "cannot write checkpoint: \((error as? OutputError)?.reason ?? ErrorText.reason(error))")
        }
        let tmp = URL(fileURLWithPath: output.writePath)
        do {
            try objective.writeWeights(to: tmp)
            let names = shardGrads[0].parameters.map(\.name)
            try Safetensors.write(optimizer.stateTensors(names: names).map { (name: $0.0, value: .f32($0.1)) },
                                  to: tmp.appendingPathComponent("optimizer.safetensors").path)
            var state: [String: Any] = [
                "step": step, "tokens": tokensSeen, "seconds": elapsed, "best_step": bestStep,
                "evals_without_improvement": evalsWithoutImprovement, "fingerprint": objective.fingerprint,
                "optimizer_step": optimizer.stepCount,
            ]
            if bestLoss.isFinite { state["best_loss"] = bestLoss }
            if let r = bestResult {
                state["best_accuracy"] = r.accuracy
                if !r.recall.isEmpty { state["best_recall"] = r.recall.map { $0.isNaN ? -1 : $0 } }
                state["best_count"] = r.count
            }
            try ClassifierDirectory.writeJSON(state, to: tmp.appendingPathComponent("state.json").path)
            try output.commit()
        } catch {
            output.abandon()
            throw ModelError.invalidModel(path: directory, reason: "cannot write checkpoint: \((error as? OutputError)?.reason ?? ErrorText.reason(error))")
        }
    }

    func restoreCheckpoint<O: TrainingObjective>(_ objective: O, from directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent("state.json").path),
              let state = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let savedStep = state["step"] as? Int else {
            throw ModelError.invalidModel(path: directory, reason: "no checkpoint to resume from (state.json missing or unreadable)")
        }
        guard state["fingerprint"] as? String == objective.fingerprint else {
            throw ModelError.invalidModel(path: directory, reason: "the checkpoint was made with other training data or settings; cannot resume")
        }
        try objective.readWeights(from: directory)
        try optimizer.restore(step: state["optimizer_step"] as? Int ?? savedStep,
                              from: SafetensorsFile(path: dir.appendingPathComponent("optimizer.safetensors").path),
                              parameters: shardGrads[0].parameters)
        step = savedStep
        tokensSeen = state["tokens"] as? Int ?? 0
        elapsedBefore = state["seconds"] as? Double ?? 0
        bestStep = state["best_step"] as? Int ?? 0
        evalsWithoutImprovement = state["evals_without_improvement"] as? Int ?? 0
        bestLoss = state["best_loss"] as? Double ?? .infinity
        if let acc = state["best_accuracy"] as? Double {
            let recall = (state["best_recall"] as? [Double] ?? []).map { $0 < 0 ? .nan : $0 }
            bestResult = ValidationResult(count: state["best_count"] as? Int ?? 0, loss: bestLoss, accuracy: acc,
                                          recall: recall)
        }
    }
}
