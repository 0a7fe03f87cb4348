import Foundation
import MambaModel
import MambaTrain
import XCTest

/// `MambaLMBackward` against PyTorch autograd through `MambaLMHeadModel` (Fixtures/reference-grad/mamba_lm_grad):
/// next-token cross-entropy, mean over all 2×48 positions, gradient of every parameter (the tied
/// embedding / LM head stored once as the sum of both uses). The two sequences run packed in one buffer.
final class MambaLMGradParityTests: XCTestCase {
    func testGradientsMatchReference() throws {
        let dir = GradFixtures.root.appendingPathComponent("mamba_lm_grad")
        guard let model = try MambaCheckpoint.load(dir.path) as? MambaLMModel else {
            return XCTFail("mamba_lm_grad is not a MambaLMModel")
        }
        let io = try SafetensorsFixture(contentsOf: dir.appendingPathComponent("io.safetensors"))
        let ref = try SafetensorsFixture(contentsOf: dir.appendingPathComponent("grads.safetensors"))
        let shape = try io.shape("input_ids")
        let (batch, L) = (shape[0], shape[1])
        let ids = try io.ints("input_ids"), targets = try io.ints("target_ids")
        var resets = [UInt8](repeating: 0, count: batch * L)
        for b in 0..<batch { resets[b * L] = 1 }

        let grads = ParameterSet(model.namedTensors())
        let tape = MambaLMTape()
        let loss = ids.withUnsafeBufferPointer { tk in
            targets.withUnsafeBufferPointer { tg in
                resets.withUnsafeBufferPointer { rs in
                    MambaLMBackward.lossAndGradients(model, tokens: tk.baseAddress!, targets: tg.baseAddress!,
                                                     rows: batch * L, resetBefore: rs.baseAddress!, grads: grads,
                                                     tape: tape)
                }
            }
        }
        let refLoss = try io.floats("loss")[0]
        print("mamba_lm_grad loss \(loss) vs \(refLoss)")
        XCTAssertEqual(loss, refLoss, accuracy: 1e-5)

        let logits = Array(UnsafeBufferPointer(start: tape.logits.ptr, count: batch * L * model.vocabSize))
        XCTAssertLessThanOrEqual(GradFixtures.maxRelativeError(logits, try io.floats("logits")), 1e-5, "logits")

        let refNames = ref.entries.keys.filter { $0.hasPrefix("grad.") }.sorted()
        XCTAssertEqual(Set(refNames.map { String($0.dropFirst(5)) }), Set(grads.parameters.map(\.name)),
                       "one gradient per distinct parameter")
        for p in grads.parameters {
            let r = try ref.floats("grad.\(p.name)")
            let g = p.gradients
            XCTAssertEqual(g.count, r.count, p.name)
            guard g.count == r.count else { continue }
            let rel = GradFixtures.relativeError(g, r), maxRel = GradFixtures.maxRelativeError(g, r)
            print("mamba_lm_grad grad.\(p.name): ‖g − ref‖/‖ref‖ = \(String(format: "%.2e", rel)), "
                  + "max|g − ref|/max|ref| = \(String(format: "%.2e", maxRel))")
            XCTAssertLessThanOrEqual(rel, 1e-3, "grad.\(p.name): relative error by norm")
            XCTAssertLessThanOrEqual(maxRel, 1e-4, "grad.\(p.name): max abs error over max |ref|")
        }
    }
}
