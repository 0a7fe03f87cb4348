import Foundation
import MambaModel
import MambaTrain

/// Text of the progress lines and the final summary of `train`, and its `training_summary.json`.
extension ClassifierTraining {
    static func describe(_ e: TrainingEvent, labels: [String]) -> String {
        switch e {
        case .progress(let p):
            return String(format: "step %d/%d  epoch %.2f  loss %.4f  acc %.3f  lr %.2e  %.0f tokens/s", p.step,
                          p.totalSteps, p.epoch, p.loss, p.accuracy, Double(p.learningRate), p.tokensPerSecond)
                + "  elapsed \(duration(p.elapsed))  ETA \(duration(p.eta))"
        case .validation(let step, let r, let improved):
            return String(format: "validation at step %d: loss %.4f  accuracy %.4f (%d reads)", step, r.loss, r.accuracy,
                          r.count) + (improved ? "  *best" : "")
        case .checkpoint(let step, let path): return "checkpoint at step \(step): \(path)"
        case .resumed(let step): return "resumed from step \(step)"
        case .stoppedEarly(let step, let best):
            return "early stop at step \(step): no better validation loss since step \(best)"
        }
    }

    static func summaryText(_ s: TrainingSummary, labels: [String]) -> String {
        var lines = [String(format: "trained %d steps (%.2f epochs, %d tokens) in ", s.steps, s.epochs, s.tokens)
                     + duration(s.seconds) + String(format: ": %.0f tokens/s", s.tokensPerSecond)
                     + (s.stoppedEarly ? ", stopped early" : "")]
        if let b = s.best {
            lines.append(String(format: "best validation (step %d): loss %.4f  accuracy %.4f on %d reads", s.bestStep,
                                b.loss, b.accuracy, b.count))
            for (l, r) in zip(labels, b.recall) { lines.append("  recall \(l) " + String(format: "%.4f", r)) }
        }
        return lines.joined(separator: "\n")
    }

    static func writeSummary(_ s: TrainingSummary, labels: [String], options: ClassifierTrainingOptions,
                             extra: [String: Any] = [:], to path: String) throws {
        var j: [String: Any] = ["steps": s.steps, "epochs": s.epochs, "tokens": s.tokens, "seconds": s.seconds,
                                "tokens_per_second": s.tokensPerSecond, "stopped_early": s.stoppedEarly,
                                "seed": Int(truncatingIfNeeded: options.seed), "batch_tokens": options.batchTokens,
                                "learning_rate": Double(options.learningRate), "threads": options.threads]
        j.merge(extra) { _, new in new }
        if s.finalTrainingLoss.isFinite { j["final_training_loss"] = s.finalTrainingLoss }
        if let b = s.best {
            j["validation"] = ["step": s.bestStep, "loss": b.loss, "accuracy": b.accuracy, "reads": b.count,
                               "recall": Dictionary(uniqueKeysWithValues: zip(labels, b.recall.map { $0.isNaN ? -1 : $0 }))]
        }
        let data = try JSONSerialization.data(withJSONObject: j, options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(data + Data("\n".utf8), to: path)
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t / 60 % 60)
            : t >= 60 ? String(format: "%dm%02ds", t / 60, t % 60) : "\(t)s"
    }
}
