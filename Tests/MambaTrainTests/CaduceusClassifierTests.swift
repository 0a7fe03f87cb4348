import Foundation
import MambaKernels
import MambaModel
import MambaTrain
import XCTest

/// Sequence classifiers on Caduceus backbones (-PS and -Ph): the training path's gradients against the PyTorch
/// fixture and finite differences, training and inference forwards agreeing, strand invariance of -PS,
/// save → reload, and learning a separable task.
final class CaduceusClassifierTests: XCTestCase {
    static func tinyModel(_ arch: EncoderArchitecture, dModel: Int = 16, layers: Int = 2, seed: UInt64 = 7,
                          pooling: ClassifierPooling = .mean) throws -> SequenceClassifier {
        let mixer = MixerConfig(dModel: dModel, dState: 4, expand: 2)
        let encoder = try XCTUnwrap(ClassifierEncoder(try arch.randomModel(mixer, layers: layers, seed: seed)))
        return SequenceClassifier(encoder: encoder, labels: ["AT", "GC"], seed: seed + 1, pooling: pooling)
    }

    /// `ClassifierBackward` (the trainer's path) on the caduceus_cls_grad fixture: a mean-pooled linear head on a
    /// Caduceus-Ph backbone, loss and every gradient as PyTorch autograd gives them.
    func testTrainingPathMatchesReferenceGradients() throws {
        let f = try GradFixture<CaduceusModel>("caduceus_cls_grad")
        let (model, io, R, L) = (f.model, f.io, f.batch, f.length)
        let weights = try SafetensorsFixture(contentsOf: f.dir.appendingPathComponent("model.safetensors"))
        let C = try weights.shape("score.weight")[0], d = model.config.dModel
        let head = Tensor(shape: [C, d], values: try weights.floats("score.weight"))
        let bias = Tensor(shape: [C], values: try weights.floats("score.bias"))
        let classifier = SequenceClassifier(encoder: .caduceus(model), head: head, headBias: bias,
                                            labels: (0..<C).map { "LABEL_\($0)" })
        let grads = ParameterSet(CaduceusBackward.namedTensors(model) + [("score.weight", head), ("score.bias", bias)])
        let result = ClassifierBackward.lossAndGradients(classifier, tokens: try io.ints("input_ids"),
                                                         lengths: [Int](repeating: L, count: R),
                                                         labels: try io.ints("labels"), grads: grads, tape: ClassifierTape())
        XCTAssertEqual(result.loss, try io.floats("loss")[0], accuracy: 1e-5)
        try f.compareGradients(grads)
    }

    /// Central differences of the loss for both backbones, packed sequences of unequal length, mean and
    /// logsumexp pooling (the RCPS strand merge sits between the backbone and the head).
    func testGradientsMatchFiniteDifferences() throws {
        for (arch, pooling) in [(EncoderArchitecture.caduceusPS, ClassifierPooling.mean), (.caduceusPS, .logsumexp),
                                (.caduceusPH, .mean)] {
            let model = try Self.tinyModel(arch, pooling: pooling)
            let (grads, loss) = ClassifierTrainingTests.gradientCheckSetup(model)
            let mixer = "caduceus.backbone.layers.%d.mixer." + (arch == .caduceusPS ? "submodule." : "")
            let embedding = "caduceus.backbone.embeddings.word_embeddings." + (arch == .caduceusPS ? "embedding.weight" : "weight")
            let names = ["classifier.weight", "classifier.bias", embedding, "caduceus.backbone.norm_f.weight",
                         "caduceus.backbone.layers.0.norm.weight",
                         String(format: mixer, 0) + "mamba_fwd.in_proj.weight", String(format: mixer, 1) + "mamba_fwd.out_proj.weight",
                         String(format: mixer, 0) + "mamba_rev.A_log", String(format: mixer, 1) + "mamba_rev.dt_proj.bias",
                         String(format: mixer, 0) + "mamba_fwd.conv1d.weight", String(format: mixer, 1) + "mamba_rev.x_proj.weight"]
            for (k, name) in names.enumerated() {
                assertDirectionalGradient(try XCTUnwrap(grads[name], name), tolerance: 2e-2, "\(arch) \(pooling) \(name)",
                                          seed: UInt64(k + 1), loss: loss)
            }
        }
    }

    /// The loss the trainer computes is the cross-entropy of the logits `classify` computes (one strand).
    func testTrainingForwardMatchesPrediction() throws {
        for arch in [EncoderArchitecture.caduceusPS, .caduceusPH] {
            for pooling in ClassifierPooling.allCases {
                let model = try Self.tinyModel(arch, pooling: pooling)
                model.rcAverage = false
                let data = ClassifierTrainingTests.gcReads(4, length: 17, seed: 8)
                let lengths = [17, 5, 12, 9]
                let seqs = zip(data, lengths).map { Array($0.0.tokens.prefix($0.1)) }
                var probs = model.logits(packed: Array(seqs.joined()), lengths: lengths)
                SequenceClassifier.softmax(&probs, classes: 2)
                let ce = data.indices.reduce(0.0) { $0 - log(Double(probs[$1 * 2 + data[$1].label])) } / 4
                let r = ClassifierBackward.lossAndGradients(model, tokens: seqs.joined().map(Int.init), lengths: lengths,
                                                            labels: data.map(\.label), grads: ParameterSet(model.namedTensors()),
                                                            tape: ClassifierTape())
                XCTAssertEqual(Double(r.loss), ce, accuracy: 1e-5, "\(arch) \(pooling)")
            }
        }
    }

    /// RCPS: a read and its reverse complement get the same logits from one pass each; strand averaging is
    /// off and stays off. Caduceus-Ph is not equivariant and keeps averaging.
    func testCaduceusPSIsStrandInvariantWithoutAveraging() throws {
        let seqs = ClassifierTrainingTests.gcReads(3, length: 29, seed: 9).map(\.tokens)
        for pooling in ClassifierPooling.allCases {
            let model = try Self.tinyModel(.caduceusPS, pooling: pooling)
            XCTAssertFalse(model.rcAverage)
            model.rcAverage = true
            XCTAssertFalse(model.rcAverage)
            let lengths = seqs.map(\.count)
            let a = model.logits(packed: Array(seqs.joined()), lengths: lengths)
            let b = model.logits(packed: Array(seqs.map(DNATokenizer.reverseComplement).joined()), lengths: lengths)
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5, "\(pooling)") }
        }
        let ph = try Self.tinyModel(.caduceusPH)
        XCTAssertTrue(ph.rcAverage)
        ph.rcAverage = false
        let s = seqs[0]
        XCTAssertNotEqual(ph.logits(packed: s, lengths: [s.count]),
                          ph.logits(packed: DNATokenizer.reverseComplement(s), lengths: [s.count]))
    }

    func testSaveReloadGivesIdenticalPredictions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cad-cls-save-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seqs = ClassifierTrainingTests.gcReads(10, length: 23, seed: 5).map(\.tokens)
        for (arch, pooling) in [(EncoderArchitecture.caduceusPS, ClassifierPooling.max), (.caduceusPH, .mean)] {
            let model = try Self.tinyModel(arch, pooling: pooling)
            try ClassifierDirectory.save(model, to: dir)
            let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as? [String: Any])
            XCTAssertEqual(config["encoder"] as? String, arch.rawValue)
            XCTAssertEqual(config["model_type"] as? String, "caduceus")
            let back = try ClassifierDirectory.load(dir)
            XCTAssertEqual(back.encoder.architecture, arch)
            XCTAssertEqual(back.pooling, pooling)
            XCTAssertEqual(back.rcAverage, model.rcAverage)
            XCTAssertEqual(ClassifierPredictor(model: back, threads: 2).logits(seqs),
                           ClassifierPredictor(model: model, threads: 1).logits(seqs))
            // The backbone alone loads as a Caduceus model (for `embed`).
            XCTAssertTrue(try MambaCheckpoint.load(dir) is CaduceusModel)
            // A copy holds the same weights in buffers of its own.
            let copy = try model.copy()
            XCTAssertEqual(copy.logits(packed: seqs[0], lengths: [23]), model.logits(packed: seqs[0], lengths: [23]))
            copy.head.data[0] += 1
            XCTAssertNotEqual(copy.head.data[0], model.head.data[0])
        }
    }

    /// GC-rich vs AT-rich reads, 2 threads: both backbones learn it.
    func testLearnsGCContent() throws {
        let data = ClassifierTrainingTests.gcReads(200, length: 40, seed: 4)
        for arch in [EncoderArchitecture.caduceusPS, .caduceusPH] {
            let model = try Self.tinyModel(arch, dModel: 8, layers: 1)
            var o = ClassifierTrainingOptions()
            o.steps = 40; o.batchTokens = 400; o.learningRate = 1e-2; o.threads = 2; o.evalEvery = 20
            o.logEvery = 1000; o.seed = 42
            let s = try ClassifierTrainer(model: model, train: Array(data[40...]), validation: Array(data[..<40]), options: o).run()
            let best = try XCTUnwrap(s.best)
            XCTAssertGreaterThan(best.accuracy, 0.9, "\(arch): validation accuracy \(best.accuracy)")
        }
    }

    /// A checkpointed Caduceus run resumes to the weights of an uninterrupted one.
    func testResumeContinuesExactly() throws {
        let data = ClassifierTrainingTests.gcReads(24, length: 30, seed: 2)
        let (train, val) = (Array(data[4...]), Array(data[..<4]))
        var o = ClassifierTrainingOptions()
        o.steps = 4; o.batchTokens = 240; o.learningRate = 1e-2; o.threads = 2; o.evalEvery = 2; o.logEvery = 1000
        let straight = try Self.tinyModel(.caduceusPS, dModel: 8, layers: 1)
        _ = try ClassifierTrainer(model: straight, train: train, validation: val, options: o).run()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cad-cls-ckpt-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        o.checkpointEvery = 100; o.checkpointDirectory = dir; o.stopAfterStep = 2
        _ = try ClassifierTrainer(model: try Self.tinyModel(.caduceusPS, dModel: 8, layers: 1), train: train,
                                  validation: val, options: o).run()
        o.stopAfterStep = nil; o.resume = true
        let resumed = try Self.tinyModel(.caduceusPS, dModel: 8, layers: 1, seed: 99)
        XCTAssertEqual(try ClassifierTrainer(model: resumed, train: train, validation: val, options: o).run().steps, 4)
        XCTAssertEqual(resumed.namedTensors().map { $0.1.array }, straight.namedTensors().map { $0.1.array })
        // A checkpoint of one backbone does not resume another.
        XCTAssertThrowsError(try ClassifierTrainer(model: try Self.tinyModel(.caduceusPH, dModel: 8, layers: 1), train: train,
                                                   validation: val, options: o).run())
    }
}
