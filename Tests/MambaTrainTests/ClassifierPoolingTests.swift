import Foundation
import MambaModel
import MambaTrain
import XCTest

/// Max and logsumexp pooling of the sequence classifier: the pooling's backward against Float64 finite
/// differences, the whole classifier's gradients, save → reload, strand invariance, and old model
/// directories (no `pooling` entry) loading as mean.
final class ClassifierPoolingTests: XCTestCase {
    private var rng = RandomSource(seed: 20_250_301)

    /// The pooling written again as a plain Float64 loop: z (rows, C) → y (C).
    private func pool64(_ mode: ClassifierPooling, _ z: [Double], rows: Int, classes C: Int) -> [Double] {
        (0..<C).map { c in
            let col = (0..<rows).map { z[$0 * C + c] }
            switch mode {
            case .mean: return col.reduce(0, +) / Double(rows)
            case .max: return col.max()!
            case .logsumexp:
                let m = col.max()!
                return m + Foundation.log(col.reduce(0) { $0 + Foundation.exp($1 - m) } / Double(rows))
            }
        }
    }

    /// loss = Σ_c y[c]·R[c]; central differences (step 1e-5) of the Float64 forward against the fp32 backward.
    /// ‖g − fd‖/‖fd‖ ≤ 1e-5 (fp32 round-off is ~1e-7; a wrong term is O(1)); the fp32 forward must match too.
    func testPoolingBackwardMatchesFloat64FiniteDifferences() {
        for mode in ClassifierPooling.allCases {
            for (rows, C) in [(1, 2), (9, 2), (23, 3)] {
                let z = (0..<(rows * C)).map { _ in 2 * Double(rng.nextNormal()) }
                let R = (0..<C).map { _ in Double(rng.nextNormal()) }
                let z32 = z.map { Float($0) }
                var y32 = [Float](repeating: 0, count: C), dz = [Float](repeating: .nan, count: rows * C)
                let dy = R.map { Float($0) }
                mode.forward(z: z32, rows: rows, classes: C, y: &y32)
                mode.backward(z: z32, y: y32, dy: dy, rows: rows, classes: C, dz: &dz)
                let ref = pool64(mode, z32.map(Double.init), rows: rows, classes: C)
                for (a, b) in zip(y32, ref) { XCTAssertEqual(Double(a), b, accuracy: 1e-6 * max(1, abs(b)), "\(mode) forward") }
                func loss(_ x: [Double]) -> Double { zip(pool64(mode, x, rows: rows, classes: C), R).reduce(0) { $0 + $1.0 * $1.1 } }
                let fd = centralDifferences(z32.map(Double.init), loss)
                let (rel, den) = relativeErrorByNorm(dz, fd)
                print("grad check \(mode) pooling (\(rows)×\(C)): ‖g − fd‖/‖fd‖ = \(String(format: "%.2e", rel))")
                XCTAssertGreaterThan(den, 0)
                XCTAssertLessThanOrEqual(rel, 1e-5, "\(mode) \(rows)×\(C)")
            }
        }
    }

    static func tinyModel(_ pooling: ClassifierPooling, seed: UInt64 = 7) throws -> SequenceClassifier {
        let config = MambaLMConfig(layout: .mambaSSM, nLayer: 2, vocabSize: DNATokenizer.vocabularySize,
                                   mixer: MixerConfig(dModel: 16, dState: 4, expand: 2))
        return SequenceClassifier(encoder: try MambaInit.randomLM(config: config, seed: seed), labels: ["AT", "GC"],
                                  seed: seed + 1, pooling: pooling)
    }

    /// The whole classifier with a pooled head: directional fp32 differences of the loss against the backward
    /// (the same check and tolerance as the mean-pooled classifier's).
    func testPooledClassifierGradientsMatchFiniteDifferences() throws {
        for mode in [ClassifierPooling.max, .logsumexp] {
            let model = try Self.tinyModel(mode)
            let (grads, loss) = ClassifierTrainingTests.gradientCheckSetup(model)
            let (reads, lengths) = ClassifierTrainingTests.gradientCheckReads
            let labels = reads.map(\.label)
            for name in ["classifier.weight", "classifier.bias", "backbone.norm_f.weight",
                         "backbone.layers.0.mixer.in_proj.weight", "backbone.layers.1.mixer.out_proj.weight"] {
                assertDirectionalGradient(try XCTUnwrap(grads[name]), tolerance: 2e-2, "\(mode) \(name)", loss: loss)
            }
            // The training loss is the prediction path's (single strand) cross-entropy.
            model.rcAverage = false
            let seqs = reads.map(\.tokens)
            var probs = model.logits(packed: Array(seqs.joined()), lengths: lengths)
            SequenceClassifier.softmax(&probs, classes: 2)
            let ce = labels.enumerated().reduce(0.0) { $0 - Foundation.log(Double(probs[$1.offset * 2 + $1.element])) } / 3
            XCTAssertEqual(loss(), ce, accuracy: 1e-5)
        }
    }

    func testPoolingIsSavedAndStrandAveraged() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cls-pool-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seqs = ClassifierTrainingTests.gcReads(6, length: 27, seed: 5).map(\.tokens)
        for mode in ClassifierPooling.allCases {
            let model = try Self.tinyModel(mode)
            try ClassifierDirectory.save(model, to: dir)
            let back = try ClassifierDirectory.load(dir)
            XCTAssertEqual(back.pooling, mode)
            XCTAssertEqual(ClassifierPredictor(model: back, threads: 2).logits(seqs),
                           ClassifierPredictor(model: model, threads: 1).logits(seqs))
            let s = seqs[0]
            let a = model.logits(packed: s, lengths: [s.count])
            let b = model.logits(packed: DNATokenizer.reverseComplement(s), lengths: [s.count])
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5, "\(mode): strand invariance") }
        }
        // A config.json without `pooling` (models saved before it existed) loads as mean; unknown names fail.
        let path = dir + "/config.json"
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        config["pooling"] = nil
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try ClassifierDirectory.load(dir).pooling, .mean)
        config["pooling"] = "attention"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ClassifierDirectory.load(dir)) { XCTAssertTrue("\($0)".contains("pooling 'attention'"), "\($0)") }
    }
}
