import Foundation
import XCTest

/// `train --task calibrate` then `classify`: one confidence column on one scale, random DNA left unclassified at the
/// default threshold, and `--confidence` moving the cut.
final class ClassifyConfidenceTests: XCTestCase {
    let reads = CLIRunner.repository.appendingPathComponent("Fixtures/demo/species_reads.fa").path
    let species = CLIRunner.repository.appendingPathComponent("Fixtures/models/species").path

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("confidence-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// The first `n` records of the demo reads (two lines each), as FASTA text.
    func firstReads(_ n: Int) throws -> String {
        try String(contentsOfFile: reads, encoding: .utf8).split(separator: "\n").prefix(2 * n).joined(separator: "\n") + "\n"
    }

    /// Rows of a classify TSV by column name.
    func rows(_ path: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let header = try XCTUnwrap(lines.first)
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    func testCalibratedConfidenceLeavesRandomReadsUnclassified() throws {
        let dir = try temporaryDirectory()
        let calibrated = dir.appendingPathComponent("calibrated").path
        // The shipped model's own calibration is replaced by one fitted here (the demo reads are test-split reads,
        // which is fine for a test of the mechanics and nothing else).
        let labelled = dir.appendingPathComponent("labelled.fa").path
        try firstReads(12).write(toFile: labelled, atomically: true, encoding: .utf8)
        let fit = try CLIRunner.run(["train", "--task", "calibrate", labelled, "--label-key", "species", "--init", species,
                                     "-o", calibrated, "--random-reads", "20", "--threads", "2"])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: calibrated + "/calibration.json"))) as! [String: Any]
        let threshold = try XCTUnwrap(json["threshold"] as? Double)
        let validation = try XCTUnwrap(json["validation"] as? [String: Double])
        XCTAssertLessThanOrEqual(try XCTUnwrap(validation["random_kept"]), 0.05)
        XCTAssertGreaterThan(threshold, 0)

        // 20 random reads of 150 bases and 5 all-N reads after 10 demo reads (few: the debug build runs the model slowly).
        var rng = SystemRandomNumberGenerator()
        var text = try firstReads(10)
        for i in 0..<20 { text += ">random\(i)\n" + String((0..<150).map { _ in "ACGT".randomElement(using: &rng)! }) + "\n" }
        for i in 0..<5 { text += ">n\(i)\n" + String(repeating: "N", count: 150) + "\n" }
        let input = dir.appendingPathComponent("mixed.fa").path
        try text.write(toFile: input, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("calls.tsv").path
        let r = try CLIRunner.run(["classify", input, "--model", calibrated, "-o", out, "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let table = try rows(out)
        let random = table.filter { $0["read_id"]!.hasPrefix("random") }, allN = table.filter { $0["read_id"]!.hasPrefix("n") }
        XCTAssertEqual(random.count, 20)
        let left = random.filter { $0["label"] == "unclassified" }
        XCTAssertGreaterThanOrEqual(Double(left.count) / 20, 0.9, "random reads kept: \(random.filter { $0["label"] != "unclassified" })")
        for row in left { XCTAssertEqual(row["reason"], "low-confidence") }
        for row in allN { XCTAssertEqual(row["label"], "unclassified"); XCTAssertEqual(row["reason"], "ambiguous") }
        for row in table {
            let c = try XCTUnwrap(Double(row["confidence"]!), "\(row)")
            XCTAssertTrue((0...1).contains(c), "\(row)")
            if row["reason"] == "-" { XCTAssertGreaterThanOrEqual(c, threshold, "\(row)") }
            if row["reason"] == "low-confidence" { XCTAssertLessThan(c, threshold, "\(row)") }
        }

        // --confidence 0 keeps every screened-in read with the same confidence (the demo reads and the all-N ones here).
        let demoAndN = dir.appendingPathComponent("demo-and-n.fa").path
        try (try firstReads(10) + (0..<5).map { ">n\($0)\n" + String(repeating: "N", count: 150) + "\n" }.joined())
            .write(toFile: demoAndN, atomically: true, encoding: .utf8)
        let all = dir.appendingPathComponent("all.tsv").path
        let r0 = try CLIRunner.run(["classify", demoAndN, "--model", calibrated, "-o", all, "--confidence", "0", "--threads", "2"])
        XCTAssertEqual(r0.status, 0, r0.stderr)
        let kept = try rows(all)
        XCTAssertFalse(kept.contains { $0["reason"] == "low-confidence" })
        let before = Dictionary(uniqueKeysWithValues: table.map { ($0["read_id"]!, $0["confidence"]!) })
        for row in kept { XCTAssertEqual(row["confidence"], before[row["read_id"]!], row["read_id"]!) }
        XCTAssertEqual(kept.filter { $0["reason"] == "ambiguous" }.count, 5)
    }

    /// Without a calibration the confidence is the deciding score and nothing is cut; a calibration that does not fit
    /// the directory's parts is refused with the file named.
    func testUncalibratedAndMismatchedCalibrations() throws {
        let dir = try temporaryDirectory()
        let plain = dir.appendingPathComponent("plain").path
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: false)
        for name in try FileManager.default.contentsOfDirectory(atPath: species) where name != "calibration.json" {
            try FileManager.default.copyItem(atPath: species + "/" + name, toPath: plain + "/" + name)
        }
        let out = dir.appendingPathComponent("calls.tsv").path
        let ten = dir.appendingPathComponent("ten.fa").path
        try firstReads(10).write(toFile: ten, atomically: true, encoding: .utf8)
        let r = try CLIRunner.run(["classify", ten, "--model", plain, "-o", out, "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(try rows(out).contains { $0["label"] == "unclassified" })

        // A calibration without the sketch part in a directory that has a sketch.
        let calibration = #"{"model": {"weights": [1, 0, 0], "bias": 0}, "model_features": ["sketch_hits"], "threshold": 0.5, "target_precision": 0.99, "fitted_on": "x", "validation": {}}"#
        try calibration.write(toFile: plain + "/calibration.json", atomically: true, encoding: .utf8)
        let bad = try CLIRunner.run(["classify", ten, "--model", plain, "-o", out])
        try CLIRunner.assertFailedCleanly(bad, naming: [plain + "/calibration.json"])
        let range = try CLIRunner.run(["classify", reads, "--confidence", "1.5"])
        XCTAssertEqual(range.status, 2)
    }

    /// The bundled species calibration is fitted with its k-mer sketch: with the sketch turned off it does not apply,
    /// so the model's own probability is the confidence and no read is held back (the run does not fail).
    func testCalibrationFittedWithASketchIsSetAsideWithoutIt() throws {
        let dir = try temporaryDirectory()
        let four = dir.appendingPathComponent("four.fa").path
        try firstReads(4).write(toFile: four, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("calls.tsv").path
        let r = try CLIRunner.run(["classify", four, "--model", species, "--no-kmer-sketch", "--no-kmer-profile",
                                   "--all-probs", "-o", out, "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let table = try rows(out)
        XCTAssertEqual(table.count, 4)
        let labels = try XCTUnwrap(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").first)
            .split(separator: "\t").map(String.init).dropFirst(3).dropLast()
        for row in table {
            XCTAssertEqual(row["reason"], "-")
            XCTAssertNotEqual(row["label"], "unclassified")
            // The confidence is the top probability: to within the 4-decimal probability columns and its own digits.
            let top = labels.compactMap { Double(row[$0] ?? "") }.max()
            XCTAssertEqual(try XCTUnwrap(Double(row["confidence"] ?? "")), try XCTUnwrap(top), accuracy: 0.5e-4 + 0.5e-6)
        }
        // --confidence still moves the cut: halfway between two reads' confidences, the reads below it are unclassified
        // and the others keep their labels.
        let confidences = try table.map { try XCTUnwrap(Double($0["confidence"] ?? "")) }
        let sorted = confidences.sorted()
        guard let i = (1..<sorted.count).first(where: { sorted[$0] - sorted[$0 - 1] > 1e-4 }) else { return }
        let cut = (sorted[i - 1] + sorted[i]) / 2
        let cutOut = dir.appendingPathComponent("cut.tsv").path
        let strict = try CLIRunner.run(["classify", four, "--model", species, "--no-kmer-sketch", "--no-kmer-profile",
                                        "--confidence", String(cut), "-o", cutOut, "--threads", "2"])
        XCTAssertEqual(strict.status, 0, strict.stderr)
        for (before, after) in zip(table, try rows(cutOut)) {
            let below = try XCTUnwrap(Double(before["confidence"] ?? "")) < cut
            XCTAssertEqual(after["label"], below ? "unclassified" : before["label"])
            XCTAssertEqual(after["reason"], below ? "low-confidence" : "-")
        }
    }
}
