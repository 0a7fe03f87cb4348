import Foundation
import XCTest
@testable import MambaModel

/// The PyTorch pretraining job (scripts/pretrain) and this engine agree: checkpoints it exports load as they are and
/// give the same hidden states (fp32, ≤ 1e-4) as PyTorch did when the expected outputs were written
/// (scripts/pretrain/parity.py --write-io).
final class PretrainedEncoderTests: XCTestCase {
    let tolerance: Float = 1e-4

    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Hidden states and logits of each sequence in `io` (input_ids padded with -1, lengths, hidden_states.K, logits.K).
    func checkParity(model directory: String, io ioPath: String, name: String) throws {
        let model = try MambaCheckpoint.load(directory)
        XCTAssertEqual(model.architecture, "mamba_ssm")
        let io = try SafetensorsFile(path: ioPath)
        let ids = try io.integers("input_ids")
        let lengths = try io.integers("lengths")
        let width = io.entries["input_ids"]!.shape[1]
        var hErr: Float = 0, lErr: Float = 0
        for (k, n) in lengths.enumerated() {
            let tokens = ids[(k * width)..<(k * width + Int(n))].map { Int32($0) }
            let h = model.hiddenStates(tokens)
            hErr = max(hErr, maxAbsDiff(h, try io.floats("hidden_states.\(k)").array))
            let logits = model.logits(hidden: h, rows: tokens.count)
            lErr = max(lErr, maxAbsDiff(logits, try io.floats("logits.\(k)").array))
        }
        print("\(name): hidden states max abs error \(hErr), logits \(lErr)")
        XCTAssertLessThanOrEqual(hErr, tolerance, "\(name) hidden states")
        XCTAssertLessThanOrEqual(lErr, tolerance, "\(name) logits")
    }

    /// A small checkpoint exported by scripts/pretrain/train.py.
    func testExportedCheckpointParity() throws {
        let dir = Fixtures.dir("pretrained/checkpoint")
        try checkParity(model: dir, io: Fixtures.root.appendingPathComponent("pretrained/io.safetensors").path,
                        name: "pretrained/checkpoint")
    }

    /// The bundled pretrained encoder (Fixtures/models/encoder, from the GPU run), against PyTorch's outputs for it.
    func testBundledEncoderParity() throws {
        let dir = Self.repoRoot.appendingPathComponent("Fixtures/models/encoder").path
        try checkParity(model: dir, io: Fixtures.root.appendingPathComponent("pretrained/encoder_io.safetensors").path,
                        name: "models/encoder")
        // The config records what the run did; the card's figures come from it.
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as? [String: Any]
        let pretraining = try XCTUnwrap(config?["pretraining"] as? [String: Any])
        XCTAssertGreaterThan(try XCTUnwrap(pretraining["tokens"] as? Int), 0)
        XCTAssertLessThan(try XCTUnwrap(pretraining["held_out_loss_nats"] as? Double), Foundation.log(4.0))
    }

    // MARK: - The Python side, where it can run

    @discardableResult
    func run(_ args: [String], cwd: URL? = nil) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.currentDirectoryURL = cwd ?? Self.repoRoot
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func canRun(_ args: [String]) -> Bool { (try? run(args).status) == 0 }

    /// Runs `scripts/pretrain/SCRIPT --smoke` for 4 steps, resumes it to step 7 with an export to `dir/model`, and
    /// writes PyTorch's outputs for the export (parity.py --write-io); returns that file's path.
    func smokeRunResumeAndExport(_ script: String, in dir: String) throws -> String {
        let path = Self.repoRoot.appendingPathComponent("scripts/pretrain/" + script).path
        let first = try run(["python3", path, "--smoke", "--run", dir, "--max-steps", "4"])
        XCTAssertEqual(first.status, 0, first.output)
        let second = try run(["python3", path, "--smoke", "--run", dir, "--max-steps", "7", "--export", dir + "/model"])
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertTrue(second.output.contains("resuming at step 4"), second.output)
        XCTAssertTrue(second.output.contains("end: step 7"), second.output)
        let io = dir + "/io.safetensors"
        let parity = try run(["python3", Self.repoRoot.appendingPathComponent("scripts/pretrain/parity.py").path,
                              "--model", dir + "/model", "--write-io", io])
        XCTAssertEqual(parity.status, 0, parity.output)
        return io
    }

    /// `train.py --smoke` (CPU, tiny model): trains, resumes from its own checkpoint, exports a directory that this
    /// engine loads and runs with the same numbers as PyTorch.
    func testPretrainSmokeResumeAndExport() throws {
        guard canRun(["python3", "-c", "import torch, safetensors"]) else {
            throw XCTSkip("python3 cannot import torch and safetensors (the pretraining job's dependencies)")
        }
        let tmp = temporaryDirectory("pretrain-smoke")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let io = try smokeRunResumeAndExport("train.py", in: tmp)
        try checkParity(model: tmp + "/model", io: io, name: "smoke export")
    }

    /// `finetune.py --smoke` (CPU, tiny model): trains a classifier, resumes from its own checkpoint, and exports a
    /// directory that loads here as a `SequenceClassifier` giving PyTorch's class probabilities (strands averaged).
    func testFineTuneSmokeExportsAClassifierThisEngineRuns() throws {
        guard canRun(["python3", "-c", "import torch, safetensors"]) else {
            throw XCTSkip("python3 cannot import torch and safetensors (the fine-tuning job's dependencies)")
        }
        let tmp = temporaryDirectory("finetune-smoke")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let io = try smokeRunResumeAndExport("finetune.py", in: tmp)

        let classifier = try ClassifierDirectory.load(tmp + "/model")
        XCTAssertTrue(classifier.rcAverage)
        let file = try SafetensorsFile(path: io)
        let ids = try file.integers("input_ids")
        let lengths = try file.integers("lengths")
        let width = file.entries["input_ids"]!.shape[1]
        var err: Float = 0
        for (k, n) in lengths.enumerated() {
            let tokens = ids[(k * width)..<(k * width + Int(n))].map { Int32($0) }
            let logits = classifier.logits(packed: tokens, lengths: [tokens.count])
            let top = logits.max()!
            let e = logits.map { Foundation.exp($0 - top) }
            let probabilities = e.map { $0 / e.reduce(0, +) }
            let want = try file.floats("probabilities.\(k)").array
            XCTAssertEqual(want.count, classifier.classCount)
            err = max(err, maxAbsDiff(probabilities, want))
        }
        XCTAssertLessThanOrEqual(err, tolerance, "fine-tuned smoke classifier: class probabilities")
    }

    /// The leak filter removes a planted stretch of a held-out genome (mutated at ~3 %) and keeps the flanks.
    func testLeakFilterRemovesPlantedTestSequence() throws {
        guard canRun(["python3", "-c", "pass"]), canRun(["sh", "-c", "command -v minimap2"]) else {
            throw XCTSkip("needs python3 and minimap2 (apt-get install minimap2)")
        }
        let tmp = temporaryDirectory("leakfilter")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        var g = SplitMix(42)
        func dna(_ n: Int) -> [Character] { (0..<n).map { _ in Array("ACGT")[Int(g.next() % 4)] } }
        let heldOut = dna(20_000)
        var planted = Array(heldOut[5_000..<5_600])
        for i in stride(from: 17, to: planted.count, by: 33) {   // ~3 % substitutions
            planted[i] = planted[i] == "A" ? "C" : "A"
        }
        let left = dna(3_000), right = dna(3_000), clean = dna(4_000)
        try (">test\n" + String(heldOut) + "\n").write(toFile: tmp + "/test.fa", atomically: true, encoding: .utf8)
        try (">cand\n" + String(left + planted + right) + "\n>clean\n" + String(clean) + "\n")
            .write(toFile: tmp + "/in.fa", atomically: true, encoding: .utf8)
        let r = try run(["python3", Self.repoRoot.appendingPathComponent("scripts/pretrain/leakfilter.py").path,
                         "--test", tmp + "/test.fa", tmp + "/in.fa", tmp + "/out.fa"])
        XCTAssertEqual(r.status, 0, r.output)
        let out = try String(contentsOfFile: tmp + "/out.fa", encoding: .utf8)
        let kept = out.split(separator: "\n").filter { !$0.hasPrefix(">") }.joined(separator: "|")
        // No 40-base piece of the planted stretch survives; the flanks and the clean record do.
        let p = String(planted)
        for start in stride(from: 0, to: p.count - 40, by: 20) {
            let piece = String(p.dropFirst(start).prefix(40))
            XCTAssertFalse(kept.contains(piece), "planted bases \(start)..<\(start + 40) survived")
        }
        XCTAssertTrue(kept.contains(String(left.prefix(2_800))), "left flank removed")
        XCTAssertTrue(kept.contains(String(right.suffix(2_800))), "right flank removed")
        XCTAssertTrue(kept.contains(String(clean)), "clean record removed")
    }
}
