import Foundation
import XCTest

/// `mamba-dna train --task mlm` end to end (debug build: tiny model, short run): the model directory it
/// writes loads with `embed`; bad input fails with one line and leaves no output directory.
final class TrainMaskedLMTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("mlm-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    let tiny = ["--d-model", "8", "--layers", "1", "--d-state", "4", "--batch-tokens", "600", "--lr", "1e-2",
                "--threads", "2", "--seed", "3"]

    func writeReads(_ name: String, n: Int) throws -> String {
        var text = ""
        for i in 0..<n {
            let motif = ["ACGTTG", "GGATCC", "TTAGCA", "CAGCTG"][i % 4]
            text += ">r\(i)\n" + String(repeating: motif, count: 8) + "\n"
        }
        let url = work.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func testTrainThenEmbed() throws {
        let reads = try writeReads("reads.fa", n: 60)
        let model = work.appendingPathComponent("model").path
        let t = try CLIRunner.run(["train", "--task", "mlm", reads, "-o", model, "--steps", "6", "--eval-every", "3",
                                   "--val-fraction", "0.1"] + tiny)
        XCTAssertEqual(t.status, 0, t.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/training_summary.json"))) as? [String: Any]
        XCTAssertEqual(summary?["steps"] as? Int, 6)
        for f in ["config.json", "model.safetensors", "tokenizer_config.json", "vocab.json", "training_summary.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: model + "/" + f), f)
        }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/config.json"))) as! [String: Any]
        XCTAssertEqual(config["model_type"] as? String, "caduceus")
        XCTAssertEqual(config["rcps"] as? Bool, true)
        let emb = work.appendingPathComponent("emb.tsv").path
        let e = try CLIRunner.run(["embed", "--model", model, "--pool", "mean", reads, "-o", emb])
        XCTAssertEqual(e.status, 0, e.stderr)
        let rows = try String(contentsOfFile: emb, encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.count, 60)
        XCTAssertEqual(rows.first?.split(separator: "\t").count ?? 0, 2 + 16, "read name, length, 2·d_model values (RCPS)")
    }

    func testBadInputLeavesNoOutput() throws {
        let empty = work.appendingPathComponent("empty.fa").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        let missing = work.appendingPathComponent("missing.fa").path
        for input in [empty, missing] {
            let model = work.appendingPathComponent("out").path
            let r = try CLIRunner.run(["train", "--task", "mlm", input, "-o", model, "--steps", "2"] + tiny)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            try CLIRunner.assertFailedCleanly(r, naming: [input], in: work, leftover: "out")
        }
        let r = try CLIRunner.run(["train", "--task", "mlm", try writeReads("ok.fa", n: 4), "-o", "x", "--arch", "bert"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--arch"), r.stderr)
    }
}
