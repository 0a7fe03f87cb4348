import Foundation
import TestSupport
import XCTest

/// `mamba-dna train --task sketch` and `classify` with a sketch, end to end: three random "genomes" labelled with
/// classes of the shipped species model, which the sketch extends.
final class TrainSketchTests: XCTestCase {
    var work: URL!
    let species = CLIRunner.repository.appendingPathComponent("Fixtures/models/species").path
    static let genomeLabels = ["E_coli", "S_aureus", "V_cholerae"]
    static let genomes: [String] = (0..<3).map { TestSequences.random(1500, seed: 40 + UInt64($0)) }

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sketch-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// 60 reads of 100 bases per genome at seeded positions, every other one reverse-complemented, as FASTA
    /// records `>gC_I species=LABEL` (header after the id from `header`).
    static func trainingRecords(header: (Int, String) -> String = { _, l in " species=\(l)" }) -> [String] {
        var g = SystemRandomNumberGeneratorSeeded(seed: 5)
        var records: [String] = []
        for (c, genome) in genomes.enumerated() {
            for i in 0..<60 {
                let start = Int(g.next() % 1400)
                var read = String(Array(genome)[start..<(start + 100)])
                if i % 2 == 1 { read = TestSequences.reverseComplement(read) }
                records.append(">g\(c)_\(i)\(header(c * 60 + i, genomeLabels[c]))\n\(read)\n")
            }
        }
        return records
    }

    func write(_ name: String, _ records: [String]) throws -> String {
        let url = work.appendingPathComponent(name)
        try records.joined().write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func sketch(_ reads: String, _ out: String, _ extra: [String] = []) throws -> CLIRunner.Result {
        try CLIRunner.run(["train", "--task", "sketch", reads, "--label-key", "species", "--init", species, "-o", out] + extra)
    }

    func testBuildThenClassify() throws {
        let reads = try write("train.fa", Self.trainingRecords())
        let model = work.appendingPathComponent("sketched").path
        let t = try sketch(reads, model, ["--sketch-k", "17", "--sketch-scaled", "4"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let meta = try MiniSafetensors(path: model + "/kmer_index.sketch.safetensors").metadata
        XCTAssertEqual(meta["reads"], String(Self.trainingRecords().count))
        XCTAssertEqual(meta["k"], "17")
        XCTAssertEqual(meta["scaled"], "4")
        // Every file of the --init directory is copied; its own sketch (the shipped model has one) is replaced and its
        // confidence calibration, fitted to the old sketch, is left out.
        let copied = try FileManager.default.contentsOfDirectory(atPath: species)
            .filter { $0 != "kmer_index.sketch.safetensors" && $0 != "calibration.json" }.sorted()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: model).sorted(),
                       (copied + ["kmer_index.sketch.safetensors"]).sorted())
        XCTAssertNotEqual(FileManager.default.contents(atPath: model + "/kmer_index.sketch.safetensors"),
                          FileManager.default.contents(atPath: species + "/kmer_index.sketch.safetensors"))
        for f in copied {
            XCTAssertEqual(FileManager.default.contents(atPath: model + "/" + f), FileManager.default.contents(atPath: species + "/" + f), f)
        }

        // Queries: two training reads per genome (one of them reverse-complemented again), a random read that
        // is in no genome, and an empty read.
        let records = Self.trainingRecords()
        var query = [0, 1, 60, 61, 120, 121].map { records[$0] }
        query[1] = ">g0_1rc\n" + TestSequences.reverseComplement(String(records[1].split(separator: "\n")[1])) + "\n"
        query.insert(">random\n" + TestSequences.random(100, seed: 999) + "\n", at: 3)
        query.append(">empty\n\n")
        let queries = try write("query.fa", query)
        let c = try CLIRunner.run(["classify", queries, "--model", model, "--all-probs", "--threads", "2"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let rows = c.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(rows.map { $0[0] }, ["g0_0", "g0_1rc", "g1_0", "random", "g1_1", "g2_0", "g2_1", "empty"])
        let expected = ["E_coli", "E_coli", "S_aureus", nil, "S_aureus", "V_cholerae", "V_cholerae", "unclassified"]
        for (row, label) in zip(rows, expected) where label != nil {
            XCTAssertEqual(row[1], label, row.joined(separator: " "))
            if label != "unclassified" {
                // The sketch's rows: probability = the class's share of the hits, the columns sum to 1.
                XCTAssertEqual(Double(row[2]), 1.0, row.joined(separator: " "))
                XCTAssertEqual(row.dropFirst(3).compactMap(Double.init).reduce(0, +), 1, accuracy: 1e-3)
            }
        }

        // --no-kmer-sketch: the model predicts every read; the read the sketch left alone gets the same row.
        let m = try CLIRunner.run(["classify", queries, "--model", model, "--all-probs", "--threads", "2", "--no-kmer-sketch"])
        XCTAssertEqual(m.status, 0, m.stderr)
        let modelRows = m.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(modelRows.map { $0[0] }, rows.map { $0[0] })
        XCTAssertEqual(modelRows[3], rows[3])
        XCTAssertEqual(modelRows[7], rows[7])

        // A damaged sketch stops classify with one line naming the file.
        let sketchFile = model + "/kmer_index.sketch.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: sketchFile))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: sketchFile))
        try CLIRunner.assertFailedCleanly(try CLIRunner.run(["classify", queries, "--model", model]), naming: [sketchFile])
        XCTAssertEqual(try CLIRunner.run(["classify", queries, "--model", model, "--no-kmer-sketch"]).status, 0)
    }

    /// `train --task classify --kmer-sketch`: the sketch holds the training reads, not the validation ones.
    func testClassifierTrainingBuildsASketch() throws {
        let reads = try write("labelled.fa", Self.trainingRecords(header: { _, l in " label=\(l)" }))
        let model = work.appendingPathComponent("trained").path
        let t = try CLIRunner.run(["train", "--task", "classify", reads, "-o", model, "--kmer-sketch", "--sketch-k", "17",
                                   "--steps", "2", "--val-fraction", "0.1", "--d-model", "16", "--layers", "1",
                                   "--d-state", "4", "--batch-tokens", "800", "--threads", "2"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let file = try Data(contentsOf: URL(fileURLWithPath: model + "/kmer_index.sketch.safetensors"))
        XCTAssertTrue(String(decoding: file.prefix(1000), as: UTF8.self).contains(#""reads":"162""#))
        let queries = try write("q.fa", [0, 60, 120].map { Self.trainingRecords()[$0] })
        let c = try CLIRunner.run(["classify", queries, "--model", model, "--threads", "1"])
        XCTAssertEqual(c.status, 0, c.stderr)
        // Two training steps leave the model guessing: the sketch gives each training read its genome's class.
        XCTAssertEqual(c.stdout.split(separator: "\n").dropFirst().map { String($0.split(separator: "\t")[1]) },
                       ["E_coli", "S_aureus", "V_cholerae"])

        let r = try CLIRunner.run(["train", "--task", "mlm", reads, "-o", work.appendingPathComponent("mlm").path, "--kmer-sketch"])
        try CLIRunner.assertFailedCleanly(r, naming: ["--kmer-sketch"])
    }

    /// The same reads in another order, on another thread count: the same bytes.
    func testBuildIsDeterministic() throws {
        let records = Self.trainingRecords()
        let a = try write("a.fa", records), b = try write("b.fa", records.reversed())
        let outA = work.appendingPathComponent("a").path, outB = work.appendingPathComponent("b").path
        XCTAssertEqual(try sketch(a, outA, ["--threads", "1"]).status, 0)
        XCTAssertEqual(try sketch(b, outB, ["--threads", "3"]).status, 0)
        let fa = try Data(contentsOf: URL(fileURLWithPath: outA + "/kmer_index.sketch.safetensors"))
        let fb = try Data(contentsOf: URL(fileURLWithPath: outB + "/kmer_index.sketch.safetensors"))
        XCTAssertEqual(fa, fb)
        XCTAssertGreaterThan(fa.count, 200)
    }

    /// Each bad input: exit status ≠ 0, one error line, and no output directory (nor temporary) left behind.
    func testBadInputsFailCleanly() throws {
        let out = work.appendingPathComponent("model").path
        func expectFailure(_ args: [String], naming names: [String], file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try CLIRunner.run(["train", "--task", "sketch"] + args + ["-o", out])
            try CLIRunner.assertFailedCleanly(r, naming: names, in: work, leftover: "model", file: file, line: line)
        }
        let good = try write("good.fa", Self.trainingRecords())
        let labelled = [good, "--label-key", "species"]
        try expectFailure(labelled, naming: ["--init"])
        try expectFailure(labelled + ["--init", work.path + "/nowhere"], naming: [work.path + "/nowhere"])
        try expectFailure(labelled + ["--init", work.path], naming: [work.path])
        let unknown = try write("unknown.fa", Self.trainingRecords(header: { i, l in " species=" + (i == 70 ? "B_subtilis" : l) }))
        try expectFailure([unknown, "--label-key", "species", "--init", species], naming: [unknown, "g1_10", "B_subtilis"])
        let unlabelled = try write("unlabelled.fa", Self.trainingRecords(header: { i, l in i == 3 ? "" : " species=\(l)" }))
        try expectFailure([unlabelled, "--label-key", "species", "--init", species], naming: [unlabelled, "g0_3", "species"])
        let empty = try write("empty.fa", [])
        try expectFailure([empty, "--label-key", "species", "--init", species], naming: [empty])
        for (option, value) in [("--sketch-k", "0"), ("--sketch-k", "32"), ("--sketch-scaled", "0"),
                                 ("--sketch-min-count", "0"), ("--sketch-min-hits", "0"), ("--sketch-dominance", "0.5")] {
            try expectFailure(labelled + ["--init", species, option, value], naming: [option])
        }
        // An existing output directory is refused, and left as it was, unless --force.
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let r = try CLIRunner.run(["train", "--task", "sketch"] + labelled + ["--init", species, "-o", out])
        try CLIRunner.assertFailedCleanly(r, naming: [out])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
        XCTAssertEqual(try CLIRunner.run(["train", "--task", "sketch"] + labelled + ["--init", species, "-o", out, "--force"]).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/kmer_index.sketch.safetensors"))
    }
}
