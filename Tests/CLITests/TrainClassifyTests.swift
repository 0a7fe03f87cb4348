import Foundation
import TestSupport
import XCTest

/// `mamba-dna train --task classify` and `mamba-dna classify` end to end, on a tiny GC-rich vs AT-rich set
/// (debug build: the models are small and the runs short).
final class TrainClassifyTests: XCTestCase {
    var work: URL!
    var repo: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("train-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try CLIRunner.run(args)
        return (r.status, r.stdout, r.stderr)
    }

    /// n reads of `length` bases: even ids GC-rich (label GC), odd ids AT-rich (label AT).
    func writeReads(_ name: String, n: Int, length: Int = 40, seed: UInt64 = 1,
                    header: (Int, String) -> String = { " label=\($1)" }) throws -> String {
        var g = SystemRandomNumberGeneratorSeeded(seed: seed)
        var text = ""
        for i in 0..<n {
            let label = i % 2 == 0 ? "GC" : "AT"
            let gc = i % 2 == 0 ? 0.7 : 0.3
            let bases = (0..<length).map { _ -> Character in
                let r = g.nextUnit(), pick = g.nextUnit() < 0.5
                return r < gc ? (pick ? "G" : "C") : (pick ? "A" : "T")
            }
            text += ">r\(i)\(header(i, label))\n\(String(bases))\n"
        }
        let url = work.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    let tiny = ["--d-model", "16", "--layers", "1", "--d-state", "4", "--batch-tokens", "800", "--lr", "1e-2",
                "--threads", "2", "--seed", "3"]

    func testTrainThenClassify() throws {
        let train = try writeReads("train.fa", n: 240)
        let model = work.appendingPathComponent("model").path
        let t = try run(["train", "--task", "classify", train, "-o", model, "--steps", "16", "--val-fraction", "0.1",
                         "--eval-every", "8"] + tiny)
        XCTAssertEqual(t.status, 0, t.stderr)
        let summary16 = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/training_summary.json"))) as? [String: Any]
        XCTAssertEqual(summary16?["steps"] as? Int, 16)
        for f in ["config.json", "model.safetensors", "tokenizer_config.json", "vocab.json", "training_summary.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: model + "/" + f), f)
        }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/config.json"))) as! [String: Any]
        XCTAssertEqual(config["architectures"] as? [String], ["MambaDNASequenceClassifier"])
        XCTAssertEqual(config["labels"] as? [String], ["AT", "GC"])
        XCTAssertEqual(config["pooling"] as? String, "mean")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/training_summary.json"))) as! [String: Any]
        let val = try XCTUnwrap(summary["validation"] as? [String: Any])
        let acc = try XCTUnwrap(val["accuracy"] as? Double)
        XCTAssertGreaterThan(acc, 0.8, "validation accuracy \(acc)")

        // classify: header, one row per read in order, probabilities, report.
        let test = try writeReads("test.fa", n: 40, seed: 9)
        let report = work.appendingPathComponent("report.tsv").path
        let c = try run(["classify", test, "--model", model, "--all-probs", "--counts", report, "--threads", "2"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let lines = c.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "read_id\tlabel\tconfidence\tAT\tGC\treason")
        XCTAssertEqual(lines.count, 41)
        var correct = 0
        for (i, line) in lines.dropFirst().enumerated() {
            let f = line.split(separator: "\t").map(String.init)
            XCTAssertEqual(f.count, 6, line)
            XCTAssertEqual(f[5], "-", line)
            XCTAssertEqual(f[0], "r\(i)")
            let p = try XCTUnwrap(Double(f[2])), pa = try XCTUnwrap(Double(f[3])), pg = try XCTUnwrap(Double(f[4]))
            XCTAssertEqual(pa + pg, 1, accuracy: 2e-4)
            // Probability columns are printed to 4 decimals, the confidence to at least 6: each is within half a
            // last digit of the value it prints.
            XCTAssertEqual(p, max(pa, pg), accuracy: 0.5e-4 + 0.5e-6)
            if f[1] == (i % 2 == 0 ? "GC" : "AT") { correct += 1 }
        }
        XCTAssertGreaterThan(correct, 30)
        let rep = try String(contentsOfFile: report, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(rep.first, "class\treads\tfraction")
        XCTAssertEqual(rep.dropFirst().map { Int($0.split(separator: "\t")[1])! }.reduce(0, +), 40)

        // Same input, -o file and fewer threads: identical rows.
        let outFile = work.appendingPathComponent("out.tsv").path
        let c2 = try run(["classify", test, "--model", model, "--all-probs", "-o", outFile, "--threads", "1"])
        XCTAssertEqual(c2.status, 0, c2.stderr)
        XCTAssertEqual(try String(contentsOfFile: outFile, encoding: .utf8), c.stdout)

        // BAM input: one row per primary read.
        let bam = repo.appendingPathComponent("Fixtures/seqio/aln.bam").path
        let c3 = try run(["classify", bam, "--model", model, "--threads", "1"])
        XCTAssertEqual(c3.status, 0, c3.stderr)
        XCTAssertGreaterThan(c3.stdout.split(separator: "\n").count, 1)

        // Fine-tuning from the trained model (--init) works; a conflicting size is refused.
        let tuned = work.appendingPathComponent("tuned").path
        let f = try run(["train", train, "-o", tuned, "--init", model, "--steps", "2", "--val-fraction", "0",
                         "--threads", "1"])
        XCTAssertEqual(f.status, 0, f.stderr)
        let bad = try run(["train", train, "-o", work.appendingPathComponent("bad").path, "--init", model,
                           "--d-model", "32", "--steps", "2"])
        try CLIRunner.assertFailedCleanly(CLIRunner.Result(status: bad.status, output: Data(), stderr: bad.stderr),
                                          naming: [model, "--d-model"])
    }

    func testLabelsFromTSVAndKey() throws {
        let reads = try writeReads("keyed.fa", n: 40, header: { " species=\($1) other=x" })
        let m1 = work.appendingPathComponent("m1").path
        let a = try run(["train", reads, "--label-key", "species", "-o", m1, "--steps", "2", "--val-fraction", "0"] + tiny)
        XCTAssertEqual(a.status, 0, a.stderr)
        let plain = try writeReads("plain.fa", n: 40, header: { _, _ in "" })
        let tsv = work.appendingPathComponent("labels.tsv")
        try ((0..<40).map { "r\($0)\t\($0 % 2 == 0 ? "GC" : "AT")" }.joined(separator: "\n") + "\n")
            .write(to: tsv, atomically: true, encoding: .utf8)
        let m2 = work.appendingPathComponent("m2").path
        let b = try run(["train", plain, "--labels", tsv.path, "-o", m2, "--steps", "2", "--val-fraction", "0"] + tiny)
        XCTAssertEqual(b.status, 0, b.stderr)
    }

    /// --val-group-key holds out whole genera, long reads are validated on 5 windows each, and the augmentation
    /// settings are recorded.
    func testValidationOnHeldOutGroups() throws {
        // Genus gK holds the reads with i % 10 == K, all of one class (K even: GC).
        let reads = try writeReads("grouped.fa", n: 200, length: 300, header: { " label=\($1) genus=g\($0 % 10)" })
        let model = work.appendingPathComponent("grouped").path
        let t = try run(["train", reads, "-o", model, "--steps", "4", "--val-fraction", "0.2", "--val-group-key", "genus",
                         "--max-length", "100", "--substitution-rate", "0.05", "--indel-rate", "0.01"] + tiny)
        XCTAssertEqual(t.status, 0, t.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/training_summary.json"))) as! [String: Any]
        let split = try XCTUnwrap(summary["validation_split"] as? [String: Any])
        XCTAssertEqual(split["group_key"] as? String, "genus")
        let held = try XCTUnwrap(split["held_out_groups"] as? [String])
        // One of the five genera of each class: 20 reads each, validated on 5 windows of 100 bases per read.
        XCTAssertEqual(held.count, 2, "\(held)")
        XCTAssertEqual(Set(held.map { Int($0.dropFirst())! % 2 }), [0, 1])
        XCTAssertEqual(split["reads"] as? Int, 40)
        XCTAssertEqual(split["items"] as? Int, 200)
        XCTAssertEqual(split["window"] as? Int, 100)
        XCTAssertEqual((summary["validation"] as? [String: Any])?["reads"] as? Int, 200)
        XCTAssertEqual(summary["substitution_rate"] as? Double, 0.05)
        XCTAssertEqual(summary["indel_rate"] as? Double, 0.01)
    }

    /// A learning rate that makes the loss non-finite: exit status 1, no model directory (nor temporary), and a
    /// checkpoint directory that holds the last checkpoint written before the divergence, if any.
    func testDivergedTrainingFailsCleanly() throws {
        let out = work.appendingPathComponent("model").path
        let reads = try writeReads("diverge.fa", n: 20)
        var args = tiny
        args[args.firstIndex(of: "--lr")! + 1] = "1e30"
        let r = try run(["train", reads, "-o", out, "--steps", "6"] + args)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.contains("model") }, [])
    }

    /// Each bad input: exit status ≠ 0, one error line, and no model directory (nor temporary) left behind.
    func testBadInputsFailCleanly() throws {
        let out = work.appendingPathComponent("model").path
        func expectFailure(_ args: [String], naming names: [String], file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try CLIRunner.run(["train"] + args + ["-o", out, "--steps", "2"] + tiny)
            try CLIRunner.assertFailedCleanly(r, naming: names, in: work, leftover: "model", file: file, line: line)
        }
        let someMissing = try writeReads("missing.fa", n: 20, header: { i, l in i == 7 ? "" : " label=\(l)" })
        try expectFailure([someMissing], naming: [someMissing, "r7"])
        let noGenus = try writeReads("nogenus.fa", n: 20, header: { i, l in " label=\(l)" + (i == 4 ? "" : " genus=g\(i % 3)") })
        try expectFailure([noGenus, "--val-group-key", "genus"], naming: ["--val-group-key", "genus", "r4"])
        let labelled20 = try writeReads("labelled20.fa", n: 20)
        try expectFailure([labelled20, "--substitution-rate", "1.5"], naming: ["--substitution-rate"])
        try expectFailure([labelled20, "--task", "mlm", "--indel-rate", "0.1"], naming: ["--indel-rate"])
        let single = try writeReads("single.fa", n: 20, header: { _, _ in " label=GC" })
        try expectFailure([single], naming: [single, "GC"])
        let plain = try writeReads("plain.fa", n: 20, header: { _, _ in "" })
        let tsv = work.appendingPathComponent("labels.tsv")
        try ((0..<20).map { "r\($0)\t\($0 % 2 == 0 ? "GC" : "AT")" }.joined(separator: "\n") + "\nr999\tGC\n")
            .write(to: tsv, atomically: true, encoding: .utf8)
        try expectFailure([plain, "--labels", tsv.path], naming: [tsv.path, "r999"])
        // A Caduceus checkpoint of another width or architecture than asked for, or a directory without a model.
        let caduceus = repo.appendingPathComponent("Fixtures/reference/caduceus/caduceus_ps").path
        let labelled = try writeReads("ok.fa", n: 20)
        try expectFailure([labelled, "--init", caduceus], naming: [caduceus, "--d-model"])
        try expectFailure([labelled, "--init", caduceus, "--arch", "mamba"], naming: [caduceus, "--arch"])
        try expectFailure([labelled, "--init", work.path], naming: [work.path])
        try expectFailure([labelled, "--arch", "caduceus"], naming: ["--arch", "caduceus"])
    }

    func testClassifyErrors() throws {
        let reads = try writeReads("r.fa", n: 4)
        let out = work.appendingPathComponent("o.tsv").path
        let r = try run(["classify", reads, "--model", work.path, "-o", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let caduceus = repo.appendingPathComponent("Fixtures/reference/caduceus/caduceus_ps").path
        let r2 = try run(["classify", reads, "--model", caduceus])
        try CLIRunner.assertFailedCleanly(CLIRunner.Result(status: r2.status, output: Data(), stderr: r2.stderr), naming: [caduceus])
    }

    /// Without --model, the bundled species model classifies the bundled demo reads (two per species here,
    /// strand averaging off: a debug build runs this model slowly).
    func testBundledSpeciesModelIsTheDefault() throws {
        let demo = try String(contentsOfFile: repo.appendingPathComponent("Fixtures/demo/species_reads.fa").path,
                              encoding: .utf8).split(separator: "\n").map(String.init)
        var subset: [String] = []
        for r in stride(from: 0, to: demo.count / 2, by: 10) { subset += [demo[2 * r], demo[2 * r + 1], demo[2 * r + 2], demo[2 * r + 3]] }
        let input = work.appendingPathComponent("demo12.fa")
        try (subset.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        // --confidence 0: every read gets the model's call (the default threshold is tested in ClassifyScreenTests).
        let r = try run(["classify", input.path, "--threads", "2", "--no-rc-average", "--confidence", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = r.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(rows.count, 12)
        let species = ["E_coli", "K_pneumoniae", "S_aureus", "H_pylori", "V_cholerae", "S_suis"]
        XCTAssertTrue(rows.allSatisfy { species.contains($0[1]) }, r.stdout)
        // The demo reads carry their species in the header; chance would get about 2 of 12 right.
        let truth = subset.filter { $0.hasPrefix(">") }.map { String($0.split(separator: " ")[1].dropFirst("species=".count)) }
        XCTAssertGreaterThanOrEqual(zip(rows, truth).filter { $0.0[1] == $0.1 }.count, 5, r.stdout)
    }
}
