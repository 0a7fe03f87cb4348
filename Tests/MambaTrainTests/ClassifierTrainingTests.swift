import Foundation
import MambaModel
import MambaTrain
import XCTest

/// The sequence classifier: gradients by finite differences, save → reload, strand invariance,
/// determinism across thread counts, exact resume, and learning a trivially separable task.
final class ClassifierTrainingTests: XCTestCase {
    static func tinyModel(dModel: Int = 16, layers: Int = 1, dState: Int = 4, seed: UInt64 = 7) throws -> SequenceClassifier {
        let mixer = MixerConfig(dModel: dModel, dState: dState, expand: 2)
        let config = MambaLMConfig(layout: .mambaSSM, nLayer: layers, vocabSize: DNATokenizer.vocabularySize, mixer: mixer)
        return SequenceClassifier(encoder: try MambaInit.randomLM(config: config, seed: seed), labels: ["AT", "GC"],
                                  seed: seed + 1)
    }

    /// Label 1: GC-rich (65 % G/C); label 0: AT-rich (35 %).
    static func gcReads(_ n: Int, length: Int, seed: UInt64) -> [LabelledSequence] {
        var rng = RandomSource(seed: seed)
        return (0..<n).map { i in
            let gc: Float = i % 2 == 0 ? 0.65 : 0.35
            let tokens: [Int32] = (0..<length).map { _ in
                rng.nextFloat() < gc ? (rng.next() & 1 == 0 ? DNATokenizer.g : DNATokenizer.c)
                                     : (rng.next() & 1 == 0 ? DNATokenizer.a : DNATokenizer.t)
            }
            return LabelledSequence(tokens: tokens, label: i % 2 == 0 ? 1 : 0)
        }
    }

    func weights(_ m: SequenceClassifier) -> [[Float]] { m.namedTensors().map { $0.1.array } }

    /// The gradient checks' batch: three GC/AT reads cut to unequal lengths.
    static var gradientCheckReads: (reads: [LabelledSequence], lengths: [Int]) {
        let lengths = [9, 6, 8]
        return (zip(gcReads(3, length: 9, seed: 3), lengths).map {
            LabelledSequence(tokens: Array($0.0.tokens.prefix($0.1)), label: $0.0.label)
        }, lengths)
    }

    /// For finite-difference checks: the analytic gradients of the loss on `gradientCheckReads` packed, and that
    /// loss as a function of the current weights. Two changes to the random model keep every checked gradient
    /// well above what an fp32 loss resolves (see `directionalGradientCheck`): the head is made 8× stronger, so
    /// the loss is not flat, and the time steps Δ = softplus(dt_proj.bias) are set to 0.2–1.0 (initialised at
    /// 0.001–0.1, the state hardly decays over 9 tokens, and A_log and Δ get gradients of 1e-4 or less).
    static func gradientCheckSetup(_ model: SequenceClassifier) -> (grads: ParameterSet, loss: () -> Double) {
        for i in 0..<model.head.count { model.head.data[i] *= 8 }
        for (name, t) in model.namedTensors() where name.hasSuffix("dt_proj.bias") {
            for i in 0..<t.count { t.data[i] = log(expm1(0.2 + 0.8 * Float(i % 7) / 6)) }
        }
        let (data, lengths) = gradientCheckReads
        let tokens = data.flatMap { $0.tokens.map(Int.init) }
        let labels = data.map(\.label)
        let grads = ParameterSet(model.namedTensors())
        let tape = ClassifierTape()
        ClassifierBackward.lossAndGradients(model, tokens: tokens, lengths: lengths, labels: labels, grads: grads, tape: tape)
        let scratch = ParameterSet(model.namedTensors())
        return (grads, {
            Double(ClassifierBackward.lossAndGradients(model, tokens: tokens, lengths: lengths, labels: labels,
                                                       grads: scratch, tape: tape).loss)
        })
    }

    func testGradientsMatchFiniteDifferences() throws {
        let model = try Self.tinyModel(dModel: 16, layers: 2, dState: 4)
        let (grads, loss) = Self.gradientCheckSetup(model)
        let names = ["classifier.weight", "classifier.bias", "backbone.embedding.weight", "backbone.norm_f.weight",
                     "backbone.layers.0.mixer.in_proj.weight", "backbone.layers.1.mixer.out_proj.weight",
                     "backbone.layers.0.mixer.A_log", "backbone.layers.1.mixer.dt_proj.bias",
                     "backbone.layers.0.mixer.conv1d.weight", "backbone.layers.1.mixer.x_proj.weight"]
        for (k, name) in names.enumerated() {
            assertDirectionalGradient(try XCTUnwrap(grads[name]), tolerance: 2e-2, name, seed: UInt64(k + 1), loss: loss)
        }
    }

    /// The check can fail: a gradient with its largest entry dropped, or 3 % too large, is rejected by far.
    func testDirectionalCheckRejectsWrongGradients() throws {
        let model = try Self.tinyModel(dModel: 16, layers: 2, dState: 4)
        let (grads, loss) = Self.gradientCheckSetup(model)
        for name in ["backbone.layers.1.mixer.x_proj.weight", "backbone.layers.1.mixer.out_proj.weight"] {
            let p = try XCTUnwrap(grads[name]), right = p.gradients
            var dropped = right
            dropped[right.indices.max { abs(right[$0]) < abs(right[$1]) }!] = 0
            for wrong in [dropped, right.map { $0 * 1.03 }] {
                p.gradients = wrong
                let check = directionalGradientCheck(p, tolerance: 2e-2, loss: loss)
                XCTAssertGreaterThan(check.error, 2e-2, name)
                XCTAssertLessThan(check.resolution, 2e-2 / 4, name)
            }
            p.gradients = right
        }
    }

    func testSaveReloadGivesIdenticalPredictions() throws {
        let model = try Self.tinyModel()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cls-save-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ClassifierDirectory.save(model, to: dir)
        XCTAssertTrue(ClassifierDirectory.isClassifier(dir))
        let back = try ClassifierDirectory.load(dir)
        XCTAssertEqual(back.labels, model.labels)
        let seqs = Self.gcReads(10, length: 23, seed: 5).map(\.tokens)
        XCTAssertEqual(ClassifierPredictor(model: back, threads: 2).logits(seqs),
                       ClassifierPredictor(model: model, threads: 1).logits(seqs))
        // The backbone alone loads as a plain Mamba model (for `embed`).
        XCTAssertTrue(try MambaCheckpoint.load(dir) is MambaLMModel)
    }

    func testStrandAveragedPredictionIsReverseComplementInvariant() throws {
        let model = try Self.tinyModel()
        let seq = Self.gcReads(1, length: 31, seed: 9)[0].tokens
        let a = model.logits(packed: seq, lengths: [31])
        let b = model.logits(packed: DNATokenizer.reverseComplement(seq), lengths: [31])
        XCTAssertEqual(a, b)
        model.rcAverage = false
        XCTAssertNotEqual(model.logits(packed: seq, lengths: [31]), model.logits(packed: DNATokenizer.reverseComplement(seq), lengths: [31]))
    }

    func options(steps: Int, threads: Int) -> ClassifierTrainingOptions {
        var o = ClassifierTrainingOptions()
        o.steps = steps; o.batchTokens = 240; o.learningRate = 1e-2; o.threads = threads; o.evalEvery = 2
        o.logEvery = 1000; o.seed = 42
        return o
    }

    func testTrainingIsDeterministicWhateverTheThreadCount() throws {
        let data = Self.gcReads(24, length: 30, seed: 1)
        var results: [[[Float]]] = []
        for threads in [1, 2] {
            let model = try Self.tinyModel()
            _ = try ClassifierTrainer(model: model, train: Array(data[4...]), validation: Array(data[..<4]),
                                      options: options(steps: 4, threads: threads)).run()
            results.append(weights(model))
        }
        XCTAssertEqual(results[0], results[1])
        // With base-noise augmentation too: the same seed gives the same weights, other ones than without it.
        var noisy: [[[Float]]] = []
        for threads in [1, 2] {
            let model = try Self.tinyModel()
            var o = options(steps: 4, threads: threads)
            o.substitutionRate = 0.05; o.indelRate = 0.02
            _ = try ClassifierTrainer(model: model, train: Array(data[4...]), validation: Array(data[..<4]), options: o).run()
            noisy.append(weights(model))
        }
        XCTAssertEqual(noisy[0], noisy[1])
        XCTAssertNotEqual(noisy[0], results[0])
    }

    func testResumeContinuesExactly() throws {
        let data = Self.gcReads(24, length: 30, seed: 2)
        let (train, val) = (Array(data[4...]), Array(data[..<4]))
        let straight = try Self.tinyModel()
        _ = try ClassifierTrainer(model: straight, train: train, validation: val, options: options(steps: 6, threads: 1)).run()

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cls-ckpt-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = options(steps: 6, threads: 1)
        o.checkpointEvery = 100; o.checkpointDirectory = dir; o.stopAfterStep = 3
        _ = try ClassifierTrainer(model: try Self.tinyModel(), train: train, validation: val, options: o).run()
        o.stopAfterStep = nil; o.resume = true
        let resumed = try Self.tinyModel(seed: 99)   // other initial weights: the checkpoint must replace them
        var events: [String] = []
        let s = try ClassifierTrainer(model: resumed, train: train, validation: val, options: o).run { events.append("\($0)") }
        XCTAssertTrue(events.first?.hasPrefix("resumed(step: 3)") ?? false, "\(events)")
        XCTAssertEqual(s.steps, 6)
        XCTAssertEqual(weights(resumed), weights(straight))
        // Other data: refused.
        o.resume = true
        XCTAssertThrowsError(try ClassifierTrainer(model: try Self.tinyModel(), train: Array(train.dropLast()), validation: val,
                                                   options: o).run())
    }

    func testLearnsGCContent() throws {
        let data = Self.gcReads(120, length: 40, seed: 4)
        let model = try Self.tinyModel()
        var o = options(steps: 30, threads: 2)
        o.batchTokens = 400; o.evalEvery = 10
        let s = try ClassifierTrainer(model: model, train: Array(data[20...]), validation: Array(data[..<20]), options: o).run()
        let best = try XCTUnwrap(s.best)
        XCTAssertGreaterThan(best.accuracy, 0.8, "validation accuracy \(best.accuracy)")
    }
}
