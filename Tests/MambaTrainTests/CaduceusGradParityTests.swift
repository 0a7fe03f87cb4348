import Foundation
import MambaKernels
import MambaModel
import MambaTrain
import XCTest

/// `CaduceusBackward` against PyTorch autograd through the kuleshov-group/caduceus reference
/// (Fixtures/reference-grad/caduceus_grad, caduceus_cls_grad): masked-LM loss of Caduceus-Ph and -PS
/// (`CaduceusForMaskedLM`, loss on the 20 masked positions only) and a mean-pooled linear classifier on a
/// Caduceus-Ph backbone; gradient of every parameter (tied tensors stored once, as the sum of their uses).
/// The sequences of a batch run packed in one buffer.
final class CaduceusGradParityTests: XCTestCase {
    func testCaduceusPhMaskedLMGradientsMatchReference() throws {
        try checkMaskedLM("caduceus_ph", rcps: false)
    }

    func testCaduceusPSMaskedLMGradientsMatchReference() throws {
        try checkMaskedLM("caduceus_ps", rcps: true)
    }

    private func checkMaskedLM(_ name: String, rcps: Bool) throws {
        let f = try GradFixture<CaduceusModel>("caduceus_grad/\(name)")
        let (model, io, batch, L) = (f.model, f.io, f.batch, f.length)
        XCTAssertEqual(model.config.rcps, rcps)
        let ids = try io.ints("input_ids"), labels = try io.ints("labels")
        let segments = Segments(lengths: [Int](repeating: L, count: batch))

        let grads = ParameterSet(CaduceusBackward.namedTensors(model))
        let tape = CaduceusTape()
        let loss = ids.withUnsafeBufferPointer { tk in
            labels.withUnsafeBufferPointer { tg in
                CaduceusBackward.lossAndGradients(model, tokens: tk.baseAddress!, targets: tg.baseAddress!,
                                                  segments: segments, grads: grads, tape: tape)
            }
        }
        let refLoss = try io.floats("loss")[0]
        print("\(name) loss \(loss) vs \(refLoss)")
        XCTAssertEqual(loss, refLoss, accuracy: 1e-5)
        let W = model.outputDim
        let hidden = Array(UnsafeBufferPointer(start: tape.output.ptr, count: batch * L * W))
        XCTAssertLessThanOrEqual(GradFixtures.maxRelativeError(hidden, try io.floats("last_hidden_state")), 1e-5)
        let logits = Array(UnsafeBufferPointer(start: tape.logits.ptr, count: batch * L * model.vocabSize))
        XCTAssertLessThanOrEqual(GradFixtures.maxRelativeError(logits, try io.floats("logits")), 1e-5, "logits")
        try f.compareGradients(grads)
    }

    func testCaduceusClassifierHeadGradientsMatchReference() throws {
        let f = try GradFixture<CaduceusModel>("caduceus_cls_grad")
        let (model, io, R, L) = (f.model, f.io, f.batch, f.length)
        let weights = try SafetensorsFixture(contentsOf: f.dir.appendingPathComponent("model.safetensors"))
        let ids = try io.ints("input_ids"), labels = try io.ints("labels")
        let C = try weights.shape("score.weight")[0], d = model.config.dModel
        let head = Tensor(shape: [C, d], values: try weights.floats("score.weight"))
        let bias = Tensor(shape: [C], values: try weights.floats("score.bias"))
        let segments = Segments(lengths: [Int](repeating: L, count: R))

        let grads = ParameterSet(CaduceusBackward.namedTensors(model) + [("score.weight", head), ("score.bias", bias)])
        let tape = CaduceusTape()
        var pooled = [Float](repeating: 0, count: R * d), logits = [Float](repeating: 0, count: R * C)
        var dLogits = logits, dPooled = pooled, dOutput = [Float](repeating: 0, count: R * L * d)
        ids.withUnsafeBufferPointer { tk in
            CaduceusBackward.encode(model, tokens: tk.baseAddress!, segments: segments, tape: tape)
        }
        pooled.withUnsafeMutableBufferPointer { p in
            for r in 0..<R { MeanPool.forward(x: tape.output.ptr + r * L * d, rows: L, channels: d, y: p.baseAddress! + r * d) }
        }
        Gemm.linear(x: pooled, rows: R, inFeatures: d, weight: head.ptr, bias: bias.ptr, outFeatures: C, y: &logits)
        let loss = CrossEntropy.lossAndGradient(logits: logits, rows: R, classes: C, targets: labels, dLogits: &dLogits)
        LinearBackward.backward(x: pooled, rows: R, inFeatures: d, weight: head.ptr, outFeatures: C, dy: dLogits,
                                dx: &dPooled, dWeight: grads.grad(head), dBias: grads.grad(bias))
        dPooled.withUnsafeBufferPointer { dp in
            dOutput.withUnsafeMutableBufferPointer { dx in
                for r in 0..<R {
                    MeanPool.backward(dy: dp.baseAddress! + r * d, rows: L, channels: d, dx: dx.baseAddress! + r * L * d)
                }
            }
        }
        ids.withUnsafeBufferPointer { tk in
            CaduceusBackward.backwardEncoder(model, tokens: tk.baseAddress!, segments: segments, dOutput: dOutput,
                                             grads: grads, tape: tape)
        }
        let refLoss = try io.floats("loss")[0]
        print("caduceus_cls_grad loss \(loss) vs \(refLoss)")
        XCTAssertEqual(loss, refLoss, accuracy: 1e-5)
        XCTAssertLessThanOrEqual(GradFixtures.maxRelativeError(pooled, try io.floats("pooled")), 1e-5, "pooled")
        try f.compareGradients(grads)
    }
}
