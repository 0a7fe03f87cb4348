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
        XCTAssertTrue(t.stderr.contains("k-mer profile: k 8 (65536 words), both strands, weight 0.1"), t.stderr)
        XCTAssertTrue(t.stderr.contains("E_coli: 60 sequences, "), t.stderr)
        XCTAssertTrue(t.stderr.contains("H_pylori: 0 sequences, 0 distinct words"), t.stderr)
        XCTAssertTrue(t.stderr.contains("kmer_profile.safetensors: 180 sequences, "), t.stderr)
        // Every file of the --init directory is copied as it is (its k-mer sketch included).
        let copied = try FileManager.default.contentsOfDirectory(atPath: species).sorted()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: model).sorted(), (copied + ["kmer_profile.safetensors"]).sorted())
        for f in copied {
            XCTAssertEqual(FileManager.default.contents(atPath: model + "/" + f), FileManager.default.contents(atPath: species + "/" + f), f)
        }

        // Queries: two training reads per genome (one reverse-complemented again), a random read, an empty read.
        var query = [0, 1, 60, 61, 120, 121].map { records[$0] }
        query[1] = ">g0_1rc\n" + TestSequences.reverseComplement(String(records[1].split(separator: "\n")[1])) + "\n"
        query.insert(">random\n" + TestSequences.random(100, seed: 999) + "\n", at: 3)
        query.append(">empty\n\n")
        let queries = try write("query.fa", query)
        let (rows, log) = try classify(queries, model)
        XCTAssertTrue(log.contains("k-mer profile (weight 0.1) added to the model's probabilities for 7 reads"), log)
        XCTAssertEqual(rows.map { $0[0] }, ["g0_0", "g0_1rc", "g1_0", "random", "g1_1", "g2_0", "g2_1", "empty"])
        for row in rows.dropLast() {
            XCTAssertEqual(row.last, "-", row.joined(separator: " "))
            let probs = try row.dropFirst(3).dropLast().map { try XCTUnwrap(Double($0), row.joined(separator: " ")) }
            XCTAssertEqual(probs.reduce(0, +), 1, accuracy: 2e-3, row.joined(separator: " "))
            XCTAssertEqual(row[2], row[3 + probs.indices.max { probs[$0] < probs[$1] }!])
        }
        XCTAssertEqual(rows.last?[1], "unclassified")

        // Weight 0 = --no-kmer-profile = the --init directory without a profile.
        let modelAlone = try classify(queries, model, ["--no-kmer-profile"])
        XCTAssertFalse(modelAlone.stderr.contains("k-mer profile"), modelAlone.stderr)
        let zero = try classify(queries, model, ["--profile-weight", "0"])
        XCTAssertTrue(zero.stderr.contains("k-mer profile not used (weight 0)"), zero.stderr)
        XCTAssertEqual(zero.rows, modelAlone.rows)
        XCTAssertEqual(try classify(queries, species).rows, modelAlone.rows)
        XCTAssertNotEqual(rows, modelAlone.rows)

        // A large weight: the training reads get their genome's class.
        let heavy = try classify(queries, model, ["--profile-weight", "10"])
        XCTAssertTrue(heavy.stderr.contains("k-mer profile (weight 10.0) added"), heavy.stderr)
        let expected = ["E_coli", "E_coli", "S_aureus", nil, "S_aureus", "V_cholerae", "V_cholerae", "unclassified"]
        for (row, label) in zip(heavy.rows, expected) where label != nil { XCTAssertEqual(row[1], label, row.joined(separator: " ")) }

        // Bad classify settings and a damaged profile: one line naming the problem.
        for (args, message) in [(["--profile-weight=-1"], "--profile-weight must be a finite number of at least 0"),
                                (["--profile-weight", "1", "--no-kmer-profile"], "exclude each other")] {
            let r = try CLIRunner.run(["classify", queries, "--model", model] + args)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains(message), r.stderr)
        }
        let none = try CLIRunner.run(["classify", queries, "--model", species, "--profile-weight", "1"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("has no k-mer profile (kmer_profile.safetensors"), none.stderr)
        let file = model + "/kmer_profile.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: file))
        let bad = try CLIRunner.run(["classify", queries, "--model", model])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("kmer_profile.safetensors: not a valid safetensors file"), bad.stderr)
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
        let fa = try Data(contentsOf: URL(fileURLWithPath: outA + "/kmer_profile.safetensors"))
        let fb = try Data(contentsOf: URL(fileURLWithPath: outB + "/kmer_profile.safetensors"))
        let fc = try Data(contentsOf: URL(fileURLWithPath: outC + "/kmer_profile.safetensors"))
        XCTAssertEqual(fa, fb)
        XCTAssertLessThan(fa.count, 6 * 1024 * 4)   // counts of the words present, not a dense 6 × 4^5 table
        XCTAssertNotEqual(fa, fc)
        XCTAssertTrue(String(decoding: fc.prefix(600), as: UTF8.self).contains(#""strands":"forward""#))
    }

    /// Each bad input: exit status ≠ 0, one error line, and no output directory (nor temporary) left behind.
    func testBadInputsFailCleanly() throws {
        let out = work.appendingPathComponent("model").path
        func expectFailure(_ args: [String], _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try CLIRunner.run(["train", "--task", "profile"] + args + ["-o", out])
            try CLIRunner.assertFailedCleanly(r, message, in: work, leftover: "model", file: file, line: line)
        }
        let good = try write("good.fa", TrainSketchTests.trainingRecords())
        let labelled = [good, "--label-key", "species"]
        try expectFailure(labelled, "--task profile needs --init CLASSIFIER_DIR")
        try expectFailure(labelled + ["--init", work.path + "/nowhere"], "--init \(work.path)/nowhere: no such directory")
        try expectFailure(labelled + ["--init", work.path], "--init \(work.path): not a classifier model directory")
        let unknown = try write("unknown.fa", TrainSketchTests.trainingRecords(header: { i, l in " species=" + (i == 70 ? "B_subtilis" : l) }))
        try expectFailure([unknown, "--label-key", "species", "--init", species],
                          "\(unknown): read 'g1_10' has label 'B_subtilis', which is not one of the classifier's classes (E_coli, ")
        let unlabelled = try write("unlabelled.fa", TrainSketchTests.trainingRecords(header: { i, l in i == 3 ? "" : " species=\(l)" }))
        try expectFailure([unlabelled, "--label-key", "species", "--init", species],
                          "1 of 180 reads have no label (no 'species=NAME' in the header); first: 'g0_3' in \(unlabelled)")
        let empty = try write("empty.fa", [])
        try expectFailure([empty, "--label-key", "species", "--init", species], "no labelled reads in \(empty)")
        for (option, value, message) in [("--profile-k", "0", "--profile-k must be in 1...12"), ("--profile-k", "13", "--profile-k must be in 1...12"),
                                         ("--profile-weight", "-0.5", "--profile-weight must be a finite number of at least 0"),
                                         ("--profile-weight", "nan", "--profile-weight must be a finite number of at least 0"),
                                         ("--profile-strands", "reverse", "--profile-strands must be both or forward")] {
            try expectFailure(labelled + ["--init", species, "\(option)=\(value)"], message)  // `=`: a negative value
        }
        // An existing output directory is refused, and left as it was, unless --force.
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let r = try CLIRunner.run(["train", "--task", "profile"] + labelled + ["--init", species, "-o", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("already exists (use --force to replace it)"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
        XCTAssertEqual(try CLIRunner.run(["train", "--task", "profile"] + labelled + ["--init", species, "-o", out, "--force",
                                          "--profile-k", "4"]).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/kmer_profile.safetensors"))
    }
}
