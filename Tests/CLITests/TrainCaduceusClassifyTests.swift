import Foundation
import TestSupport
import XCTest
@testable import DNATasks
import MambaModel
import MambaTrain

/// `train --task classify` on Caduceus encoders end to end (debug build: tiny models, short runs): a fresh
/// `--arch caduceus-ph` classifier, fine-tuning a `train --task mlm --arch caduceus-ps` encoder and a Hugging
/// Face Caduceus checkpoint, then `classify` and `embed` on the results; contradictions fail with one line.
final class TrainCaduceusClassifyTests: XCTestCase {
    var work: URL!
    var repo: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("cad-cls-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    let short = ["--batch-tokens", "800", "--lr", "1e-2", "--threads", "2", "--seed", "3"]
    let tiny = ["--d-model", "8", "--layers", "1", "--d-state", "4"]

    /// n reads: even ids GC-rich (label GC), odd ids AT-rich (label AT).
    func writeReads(_ name: String, n: Int, length: Int = 40, seed: UInt64 = 1) throws -> String {
        var g = SystemRandomNumberGeneratorSeeded(seed: seed)
        var text = ""
        for i in 0..<n {
            let gc = i % 2 == 0 ? 0.7 : 0.3
            let bases = (0..<length).map { _ -> Character in
                let r = g.nextUnit(), pick = g.nextUnit() < 0.5
                return r < gc ? (pick ? "G" : "C") : (pick ? "A" : "T")
            }
            text += ">r\(i) label=\(i % 2 == 0 ? "GC" : "AT")\n\(String(bases))\n"
        }
        let url = work.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func config(_ dir: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as? [String: Any])
    }

    /// Writes 40 fresh reads (GC-rich, AT-rich, alternating), classifies them with `model` and checks that
    /// more than 34 come out right; returns the reads' path and the rows.
    func classifyTestReads(_ model: String, file: StaticString = #filePath, line: UInt = #line) throws
        -> (reads: String, rows: [(String, Double)]) {
        let test = try writeReads("test.fa", n: 40, seed: 9)
        let rows = try classify(test, model: model)
        XCTAssertEqual(rows.count, 40, file: file, line: line)
        let correct = rows.enumerated().filter { $0.element.0 == ($0.offset % 2 == 0 ? "GC" : "AT") }.count
        XCTAssertGreaterThan(correct, 34, "\(correct) of 40", file: file, line: line)
        return (test, rows)
    }

    /// The `classify` rows of `reads` as (label, probability of GC).
    func classify(_ reads: String, model: String, _ extra: [String] = []) throws -> [(String, Double)] {
        let c = try CLIRunner.run(["classify", reads, "--model", model, "--all-probs", "--threads", "2"] + extra)
        XCTAssertEqual(c.status, 0, c.stderr)
        return c.stdout.split(separator: "\n").dropFirst().map {
            let f = $0.split(separator: "\t").map(String.init)
            return (f[1], Double(f[4]) ?? .nan)
        }
    }

    func testFreshCaduceusPhClassifier() throws {
        let train = try writeReads("train.fa", n: 200)
        let model = work.appendingPathComponent("ph").path
        let t = try CLIRunner.run(["train", "--task", "classify", "--arch", "caduceus-ph", train, "-o", model,
                                   "--steps", "30", "--val-fraction", "0.1", "--eval-every", "15"] + short + tiny)
        XCTAssertEqual(t.status, 0, t.stderr)
        let c = try config(model)
        XCTAssertEqual(c["d_model"] as? Int, 8)
        XCTAssertEqual(c["encoder"] as? String, "caduceus-ph")
        XCTAssertEqual(c["rc_average"] as? Bool, true)
        _ = try classifyTestReads(model)
    }

    /// mlm pretraining → classify fine-tuning → classify and embed; RCPS predictions need no strand averaging.
    func testFineTuneMaskedLMCaduceusPS() throws {
        let train = try writeReads("train.fa", n: 200)
        let encoder = work.appendingPathComponent("encoder").path
        let m = try CLIRunner.run(["train", "--task", "mlm", train, "-o", encoder, "--steps", "4", "--val-fraction", "0"]
                                  + short + tiny)
        XCTAssertEqual(m.status, 0, m.stderr)
        let model = work.appendingPathComponent("tuned").path
        let t = try CLIRunner.run(["train", "--task", "classify", train, "--init", encoder, "-o", model, "--steps", "30",
                                   "--val-fraction", "0.1", "--eval-every", "15", "--pool", "logsumexp"] + short)
        XCTAssertEqual(t.status, 0, t.stderr)
        let c = try config(model)
        XCTAssertEqual(c["d_model"] as? Int, 8)
        XCTAssertEqual(c["encoder"] as? String, "caduceus-ps")
        XCTAssertEqual(c["pooling"] as? String, "logsumexp")
        XCTAssertEqual(c["rc_average"] as? Bool, false)

        let (test, rows) = try classifyTestReads(model)
        // --no-rc-average changes nothing: the model is strand invariant by construction.
        let single = try classify(test, model: model, ["--no-rc-average"])
        XCTAssertEqual(single.map(\.0), rows.map(\.0))
        for (a, b) in zip(single, rows) { XCTAssertEqual(a.1, b.1, accuracy: 1e-6) }

        let emb = try CLIRunner.run(["embed", "--model", model, "--pool", "mean", test])
        XCTAssertEqual(emb.status, 0, emb.stderr)
        let first = emb.stdout.split(separator: "\n").dropFirst().first
        XCTAssertEqual(first?.split(separator: "\t").count ?? 0, 2 + 16, "read name, length, 2·d_model values (RCPS)")

        // Continuing from the classifier keeps its encoder; contradicting it fails and leaves nothing behind.
        let again = work.appendingPathComponent("again").path
        let a = try CLIRunner.run(["train", train, "--init", model, "--arch", "caduceus-ps", "-o", again, "--steps", "2",
                                   "--val-fraction", "0"] + short)
        XCTAssertEqual(a.status, 0, a.stderr)
        let bad = work.appendingPathComponent("bad").path
        for (args, names) in [(["--arch", "caduceus-ph"], [encoder, "--arch", "caduceus-ps"]),
                              (["--d-model", "16"], [encoder, "--d-model"])] {
            let r = try CLIRunner.run(["train", train, "--init", encoder, "-o", bad, "--steps", "2"] + args + short)
            try CLIRunner.assertFailedCleanly(r, naming: names, in: work, leftover: "bad")
        }
    }

    /// The Hugging Face Caduceus-PS fixture (CaduceusForMaskedLM config.json + model.safetensors) fine-tunes as it is.
    func testFineTuneHuggingFaceCaduceusCheckpoint() throws {
        let hf = repo.appendingPathComponent("Fixtures/reference/caduceus/caduceus_ps").path
        // Few, short reads: d_model 32 with d_state 16 is slow in a debug build.
        let train = try writeReads("train.fa", n: 8, length: 20)
        let model = work.appendingPathComponent("hf-tuned").path
        let t = try CLIRunner.run(["train", "--task", "classify", train, "--init", hf, "-o", model, "--steps", "1",
                                   "--val-fraction", "0", "--batch-tokens", "160", "--threads", "2"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let c = try config(model)
        XCTAssertEqual(c["encoder"] as? String, "caduceus-ps")
        XCTAssertEqual(c["d_model"] as? Int, try config(hf)["d_model"] as? Int)
        XCTAssertEqual(c["n_layer"] as? Int, try config(hf)["n_layer"] as? Int)
        XCTAssertEqual(try classify(train, model: model).count, 8)
    }

    /// A learned motif model on Caduceus-PS: its per-base track pools to the classifier's logit and is the
    /// same, position-reversed, on the reverse complement (the track reads the strand-merged features).
    func testMotifTrackOnCaduceusPS() throws {
        let seqs = (0..<4).map { i in DNATokenizer.encode(MotifTests.randomSequence(30 + 11 * i, seed: UInt64(i + 1))) }
        for pooling in ClassifierPooling.allCases {
            let mixer = MixerConfig(dModel: 8, dState: 4, expand: 2)
            let encoder = try XCTUnwrap(ClassifierEncoder(try EncoderArchitecture.caduceusPS.randomModel(mixer, layers: 1, seed: 5)))
            let classifier = SequenceClassifier(encoder: encoder, labels: ["background", "bound"], seed: 6, pooling: pooling)
            classifier.headBias.data[1] = 0.3
            let model = try MotifModel(classifier: classifier, boundLabel: "bound")
            let logits = ClassifierPredictor(model: classifier, threads: 1).logits(seqs)
            let scores = model.scores(seqs)
            let reverse = model.scores(seqs.map(DNATokenizer.reverseComplement))
            for i in seqs.indices {
                XCTAssertEqual(scores[i].logit, logits[i * 2 + 1] - logits[i * 2], accuracy: 1e-4, "\(pooling)")
                XCTAssertEqual(model.logit(track: scores[i].track), scores[i].logit, accuracy: 1e-5, "\(pooling)")
                for (a, b) in zip(scores[i].track, reverse[i].track.reversed()) { XCTAssertEqual(a, b, accuracy: 1e-4, "\(pooling)") }
            }
        }
    }
}
