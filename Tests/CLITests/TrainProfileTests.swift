import Foundation
import TestSupport
import XCTest

/// `mamba-dna train --task profile` and `classify` with a profile, end to end: the three random "genomes" of
/// `TrainSketchTests`, labelled with classes of the shipped species model, which the profile extends.
final class TrainProfileTests: XCTestCase {
    var work: URL!
    let species = CLIRunner.repository.appendingPathComponent("Fixtures/models/species").path

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("profile-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func write(_ name: String, _ records: [String]) throws -> String {
        let url = work.appendingPathComponent(name)
        try records.joined().write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func profile(_ reads: String, _ out: String, _ extra: [String] = []) throws -> CLIRunner.Result {
        try CLIRunner.run(["train", "--task", "profile", reads, "--label-key", "species", "--init", species, "-o", out] + extra)
    }

    func classify(_ query: String, _ model: String, _ extra: [String] = []) throws -> (rows: [[String]], stderr: String) {
        let r = try CLIRunner.run(["classify", query, "--model", model, "--all-probs", "--threads", "2"] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        return (r.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }, r.stderr)
    }

    func testBuildThenClassify() throws {
        let records = TrainSketchTests.trainingRecords()
        let reads = try write("train.fa", records)
        let model = work.appendingPathComponent("profiled").path
        let t = try profile(reads, model)
        XCTAssertEqual(t.status, 0, t.stderr)
        // What the profile holds, from its own metadata: k, strands, weight, and sequences per class (the training
        // records: 60 per genome of E. coli, S. aureus and V. cholerae, none of the other classes).
        let meta = try MiniSafetensors(path: model + "/kmer_index.profile.safetensors").metadata
        XCTAssertEqual(meta["k"], "8")
        XCTAssertEqual(meta["strands"], "both")
        XCTAssertEqual(meta["weight"], "0.1")
        XCTAssertEqual(meta["reads"], String(records.count))
        let perClass = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((meta["class_reads"] ?? "").utf8)) as? [Int])
        let labels = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((meta["labels"] ?? "").utf8)) as? [String])
        XCTAssertEqual(perClass.reduce(0, +), records.count)
        XCTAssertEqual(perClass[labels.firstIndex(of: "H_pylori")!], 0)
        XCTAssertEqual(perClass[labels.firstIndex(of: "E_coli")!], records.filter { $0.contains("species=E_coli") }.count)
        // Every file of the --init directory is copied as it is (its k-mer sketch included), except its confidence
        // calibration, which was fitted without the profile.
        let calibration = "calibration.json"
        XCTAssertTrue(FileManager.default.fileExists(atPath: species + "/" + calibration))
        let copied = try FileManager.default.contentsOfDirectory(atPath: species).filter { $0 != calibration }.sorted()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: model).sorted(), (copied + ["kmer_index.profile.safetensors"]).sorted())
        for f in copied {
            XCTAssertEqual(FileManager.default.contents(atPath: model + "/" + f), FileManager.default.contents(atPath: species + "/" + f), f)
        }

        // Queries: two training reads per genome (one reverse-complemented again), a random read, an empty read.
        var query = [0, 1, 60, 61, 120, 121].map { records[$0] }
        query[1] = ">g0_1rc\n" + TestSequences.reverseComplement(String(records[1].split(separator: "\n")[1])) + "\n"
        query.insert(">random\n" + TestSequences.random(100, seed: 999) + "\n", at: 3)
        query.append(">empty\n\n")
        let queries = try write("query.fa", query)
        let (rows, _) = try classify(queries, model)
        XCTAssertEqual(rows.map { $0[0] }, ["g0_0", "g0_1rc", "g1_0", "random", "g1_1", "g2_0", "g2_1", "empty"])
        for row in rows.dropLast() {
            XCTAssertEqual(row.last, "-", row.joined(separator: " "))
            let probs = try row.dropFirst(3).dropLast().map { try XCTUnwrap(Double($0), row.joined(separator: " ")) }
            XCTAssertEqual(probs.reduce(0, +), 1, accuracy: 2e-3, row.joined(separator: " "))
            // Without a calibration the confidence is the top probability (printed to at least 6 decimals, the
            // probability columns to 4).
            XCTAssertEqual(try XCTUnwrap(Double(row[2])), probs.max()!, accuracy: 0.5e-4 + 0.5e-6, row.joined(separator: " "))
        }
        XCTAssertEqual(rows.last?[1], "unclassified")

        // Weight 0 = --no-kmer-profile = the --init directory without a profile.
        let modelAlone = try classify(queries, model, ["--no-kmer-profile"])
        let zero = try classify(queries, model, ["--profile-weight", "0"])
        XCTAssertEqual(zero.rows, modelAlone.rows)
        // The --init directory's own calibration gives other confidences; labels and probabilities are the same.
        let withoutConfidence = { (rows: [[String]]) in rows.map { Array($0.prefix(2) + $0.dropFirst(3)) } }
        XCTAssertEqual(withoutConfidence(try classify(queries, species, ["--confidence", "0"]).rows),
                       withoutConfidence(try classify(queries, model, ["--no-kmer-profile", "--confidence", "0"]).rows))
        XCTAssertNotEqual(rows, modelAlone.rows)

        // A large weight: the training reads get their genome's class.
        let heavy = try classify(queries, model, ["--profile-weight", "10"])
        XCTAssertNotEqual(heavy.rows, rows)
        let expected = ["E_coli", "E_coli", "S_aureus", nil, "S_aureus", "V_cholerae", "V_cholerae", "unclassified"]
        for (row, label) in zip(heavy.rows, expected) where label != nil { XCTAssertEqual(row[1], label, row.joined(separator: " ")) }

        // Bad classify settings and a damaged profile: one line naming the problem.
        for (args, names) in [(["--profile-weight=-1"], ["--profile-weight"]),
                              (["--profile-weight", "1", "--no-kmer-profile"], ["--profile-weight", "--no-kmer-profile"])] {
            try CLIRunner.assertFailedCleanly(try CLIRunner.run(["classify", queries, "--model", model] + args), naming: names)
        }
        let none = try CLIRunner.run(["classify", queries, "--model", species, "--profile-weight", "1"])
        try CLIRunner.assertFailedCleanly(none, naming: [species, "kmer_index.profile.safetensors"])
        let file = model + "/kmer_index.profile.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: file))
        try CLIRunner.assertFailedCleanly(try CLIRunner.run(["classify", queries, "--model", model]), naming: [file])
        XCTAssertEqual(try CLIRunner.run(["classify", queries, "--model", model, "--no-kmer-profile"]).status, 0)
    }

    /// The same reads in another order: the same bytes; another strand setting: another file.
    func testBuildIsDeterministic() throws {
        let records = TrainSketchTests.trainingRecords()
        let a = try write("a.fa", records), b = try write("b.fa", records.reversed())
        let outA = work.appendingPathComponent("a").path, outB = work.appendingPathComponent("b").path
        let outC = work.appendingPathComponent("c").path
        XCTAssertEqual(try profile(a, outA, ["--profile-k", "5"]).status, 0)
        XCTAssertEqual(try profile(b, outB, ["--profile-k", "5"]).status, 0)
        XCTAssertEqual(try profile(a, outC, ["--profile-k", "5", "--profile-strands", "forward", "--profile-weight", "0.5"]).status, 0)
        let fa = try Data(contentsOf: URL(fileURLWithPath: outA + "/kmer_index.profile.safetensors"))
        let fb = try Data(contentsOf: URL(fileURLWithPath: outB + "/kmer_index.profile.safetensors"))
        let fc = try Data(contentsOf: URL(fileURLWithPath: outC + "/kmer_index.profile.safetensors"))
        XCTAssertEqual(fa, fb)
        XCTAssertLessThan(fa.count, 6 * 1024 * 4)   // counts of the words present, not a dense 6 × 4^5 table
        XCTAssertNotEqual(fa, fc)
        XCTAssertTrue(String(decoding: fc.prefix(600), as: UTF8.self).contains(#""strands":"forward""#))
    }

    /// Each bad input: exit status ≠ 0, one error line, and no output directory (nor temporary) left behind.
    func testBadInputsFailCleanly() throws {
        let out = work.appendingPathComponent("model").path
        func expectFailure(_ args: [String], naming names: [String], file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try CLIRunner.run(["train", "--task", "profile"] + args + ["-o", out])
            try CLIRunner.assertFailedCleanly(r, naming: names, in: work, leftover: "model", file: file, line: line)
        }
        let good = try write("good.fa", TrainSketchTests.trainingRecords())
        let labelled = [good, "--label-key", "species"]
        try expectFailure(labelled, naming: ["--init"])
        try expectFailure(labelled + ["--init", work.path + "/nowhere"], naming: [work.path + "/nowhere"])
        try expectFailure(labelled + ["--init", work.path], naming: [work.path])
        let unknown = try write("unknown.fa", TrainSketchTests.trainingRecords(header: { i, l in " species=" + (i == 70 ? "B_subtilis" : l) }))
        try expectFailure([unknown, "--label-key", "species", "--init", species], naming: [unknown, "g1_10", "B_subtilis"])
        let unlabelled = try write("unlabelled.fa", TrainSketchTests.trainingRecords(header: { i, l in i == 3 ? "" : " species=\(l)" }))
        try expectFailure([unlabelled, "--label-key", "species", "--init", species], naming: [unlabelled, "g0_3", "species"])
        let empty = try write("empty.fa", [])
        try expectFailure([empty, "--label-key", "species", "--init", species], naming: [empty])
        for (option, value) in [("--profile-k", "0"), ("--profile-k", "13"), ("--profile-weight", "-0.5"),
                                 ("--profile-weight", "nan"), ("--profile-strands", "reverse")] {
            try expectFailure(labelled + ["--init", species, "\(option)=\(value)"], naming: [option])  // `=`: a negative value
        }
        // An existing output directory is refused, and left as it was, unless --force.
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let r = try CLIRunner.run(["train", "--task", "profile"] + labelled + ["--init", species, "-o", out])
        try CLIRunner.assertFailedCleanly(r, naming: [out])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
        XCTAssertEqual(try CLIRunner.run(["train", "--task", "profile"] + labelled + ["--init", species, "-o", out, "--force",
                                          "--profile-k", "4"]).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/kmer_index.profile.safetensors"))
    }
}
