import Foundation
import MambaModel
@testable import MambaTrain
import XCTest

/// The training mixer backward (with its own scan kernel) against `MambaMixerBackward` on a packed batch.
final class MixerBackwardTrainingTests: XCTestCase {
    func testMatchesMambaMixerBackward() throws {
        let mixer = MixerConfig(dModel: 16, dState: 8, expand: 2)
        let config = MambaLMConfig(layout: .mambaSSM, nLayer: 1, vocabSize: 12, mixer: mixer)
        let model = try MambaInit.randomLM(config: config, seed: 3)
        let m = model.layers[0].mixer
        let T = 150, d = 16
        var rng = RandomSource(seed: 5)
        var h = [Float](repeating: 0, count: T * d), dOut = h
        rng.fillNormal(&h, std: 1); rng.fillNormal(&dOut, std: 1)
        var resets = [UInt8](repeating: 0, count: T)
        for t in [0, 37, 38, 100] { resets[t] = 1 }   // packed sequences, one of length 1
        let act = MixerActivations()
        var out = h
        m.forward(h, ldh: d, rows: T, out: &out, ldo: d, resetBefore: resets, act: act)
        let ref = ParameterSet(model.namedTensors()), fast = ParameterSet(model.namedTensors())
        var dhRef = h, dhFast = h
        MambaMixerBackward.backward(m, h: h, ldh: d, rows: T, act: act, resetBefore: resets, dOut: dOut, ldo: d,
                                    dh: &dhRef, lddh: d, grads: ref, ws: .init())
        MixerBackwardTraining.backward(m, h: h, ldh: d, rows: T, act: act, resetBefore: resets, dOut: dOut, ldo: d,
                                       dh: &dhFast, lddh: d, grads: fast, ws: .init())
        XCTAssertLessThan(GradFixtures.relativeError(dhFast, dhRef), 1e-5)
        for (p, q) in zip(fast.parameters, ref.parameters) {
            let norm = q.gradients.map { $0 * $0 }.reduce(0, +)
            if norm == 0 { XCTAssertEqual(p.gradients, q.gradients, p.name); continue }
            XCTAssertLessThan(GradFixtures.relativeError(p.gradients, q.gradients), 1e-5, p.name)
        }
    }
}
