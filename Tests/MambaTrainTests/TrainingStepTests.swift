import Foundation
import MambaModel
import MambaTrain
import XCTest

/// The pieces together: backward + clipping + schedule + AdamW lower the loss on a fixed batch.
final class TrainingStepTests: XCTestCase {
    func testAdamWStepsReduceLossOnFixedBatch() throws {
        let dir = GradFixtures.root.appendingPathComponent("mamba_lm_grad")
        guard let model = try MambaCheckpoint.load(dir.path) as? MambaLMModel else {
            return XCTFail("mamba_lm_grad is not a MambaLMModel")
        }
        let io = try SafetensorsFixture(contentsOf: dir.appendingPathComponent("io.safetensors"))
        let ids = try io.ints("input_ids"), targets = try io.ints("target_ids")
        let L = try io.shape("input_ids")[1]
        var resets = [UInt8](repeating: 0, count: ids.count)
        for t in stride(from: 0, to: ids.count, by: L) { resets[t] = 1 }

        let params = ParameterSet(model.namedTensors())
        let tape = MambaLMTape()
        let opt = AdamW(config: .init(weightDecay: 0.1))
        let schedule = WarmupCosineSchedule(peak: 5e-3, floor: 5e-4, warmupSteps: 2, totalSteps: 10)
        var losses: [Float] = []
        for step in 0..<10 {
            params.zeroGrad()
            let loss = MambaLMBackward.lossAndGradients(model, tokens: ids, targets: targets, rows: ids.count,
                                                        resetBefore: resets, grads: params, tape: tape)
            losses.append(loss)
            let norm = GradientClipping.clipGlobalNorm(params.parameters, maxNorm: 1)
            XCTAssertTrue(norm.isFinite)
            opt.step(params.parameters, learningRate: schedule.learningRate(at: step))
        }
        print("training losses: \(losses)")
        XCTAssertEqual(losses[0], try io.floats("loss")[0], accuracy: 1e-5)
        XCTAssertLessThan(losses.last!, losses[0] - 0.1, "ten steps on one batch should fit it noticeably")
        // The tied head is the embedding: one parameter, updated once per step.
        XCTAssertTrue(model.lmHead === model.embedding)
        XCTAssertEqual(params.parameters.filter { $0.value === model.embedding }.count, 1)
        XCTAssertFalse(params["backbone.layers.0.mixer.A_log"]!.decay)
        XCTAssertTrue(params["backbone.embedding.weight"]!.decay)
    }
}
