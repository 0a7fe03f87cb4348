import Foundation
import TestSupport
import XCTest

/// `classify` leaves reads no model should be trusted with `unclassified`, with the reason, and `--no-screen`
/// classifies them anyway.
final class ClassifyScreenTests: XCTestCase {
    func testUnclassifiedReasons() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("screen-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let model = CLIRunner.repository.appendingPathComponent("Fixtures/models/species").path
        let protein = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIW"
        let reads: [(String, String, String?)] = [
            ("random", TestSequences.random(150, seed: 5), nil),
            ("allN", String(repeating: "N", count: 150), "ambiguous"),
            ("protein", protein, "ambiguous"),
            ("short", "ACGTA", "too-short"),
            ("polyA", String(repeating: "A", count: 150), "low-complexity"),
            ("dinucleotide", String(repeating: "CA", count: 75), "low-complexity"),
            ("empty", "", "too-short"),
            ("random2", TestSequences.random(40, seed: 6), nil),
        ]
        let fasta = work.appendingPathComponent("reads.fa")
        try reads.map { ">\($0.0)\n\($0.1)\n" }.joined().write(to: fasta, atomically: true, encoding: .utf8)
        let out = work.appendingPathComponent("calls.tsv"), report = work.appendingPathComponent("report.tsv")
        // --confidence 0: the screen alone decides what is unclassified here.
        let r = try CLIRunner.run(["classify", fasta.path, "--model", model, "--threads", "2", "--all-probs",
                                   "-o", out.path, "--counts", report.path, "--confidence", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        XCTAssertEqual(header.first, "read_id")
        XCTAssertEqual(header.last, "reason")
        let rows = lines.dropFirst()
        XCTAssertEqual(rows.map { $0[0] }, reads.map(\.0))
        for (row, read) in zip(rows, reads) {
            XCTAssertEqual(row.count, header.count, row.joined(separator: " "))
            if let reason = read.2 {
                XCTAssertEqual(row[1], "unclassified", read.0)
                XCTAssertEqual(row.last, reason, read.0)
                XCTAssertEqual(Double(row[2]), 0, read.0)
            } else {
                XCTAssertNotEqual(row[1], "unclassified", read.0)
                XCTAssertEqual(row.last, "-", read.0)
                // The class columns are probabilities summing to 1.
                XCTAssertEqual(row[3..<(row.count - 1)].compactMap(Double.init).reduce(0, +), 1, accuracy: 1e-3, read.0)
            }
        }
        let reportRows = try String(contentsOf: report, encoding: .utf8).split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        let unclassified = reportRows.first { $0.first == "unclassified" }
        XCTAssertEqual(unclassified.map { Int($0[1]) }, reads.filter { $0.2 != nil }.count)

        // --no-screen: every non-empty read gets a class; --min-length lowers the length floor.
        let all = try CLIRunner.run(["classify", fasta.path, "--model", model, "--threads", "2", "--no-screen", "--confidence", "0"])
        XCTAssertEqual(all.status, 0, all.stderr)
        let allRows = all.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(allRows.filter { $0[1] == "unclassified" }.map { $0[0] }, ["empty"])
        let short = try CLIRunner.run(["classify", fasta.path, "--model", model, "--threads", "2", "--min-length", "5",
                                       "--confidence", "0"])
        XCTAssertEqual(short.status, 0, short.stderr)
        let shortRow = short.stdout.split(separator: "\n").first { $0.hasPrefix("short\t") }.map { $0.split(separator: "\t").map(String.init) }
        XCTAssertNotEqual(shortRow?[1], "unclassified")
        XCTAssertNotEqual(try CLIRunner.run(["classify", fasta.path, "--model", model, "--min-length", "0"]).status, 0)

        // At the bundled model's calibrated threshold, the random reads are unclassified for low confidence.
        let calibrated = try CLIRunner.run(["classify", fasta.path, "--model", model, "--threads", "2"])
        XCTAssertEqual(calibrated.status, 0, calibrated.stderr)
        for row in calibrated.stdout.split(separator: "\n").dropFirst().map({ $0.split(separator: "\t").map(String.init) })
        where row[0].hasPrefix("random") {
            XCTAssertEqual(row[1], "unclassified", row[0])
            XCTAssertEqual(row.last, "low-confidence", row[0])
        }
    }

    /// Read names that are not UTF-8 come out byte for byte, in classify's table and in embed's.
    func testNonUTF8ReadNamesAreWrittenByteForByte() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("names-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let name: [UInt8] = [0x72, 0xFF, 0xFE, 0x5F, 0xC3, 0xA9, 0xED, 0xA0, 0x80]   // r, 2 invalid bytes, _, é, a surrogate
        var fasta = Data([UInt8(ascii: ">")] + name + Array(" comment\n".utf8))
        fasta.append(Data((TestSequences.random(150, seed: 4) + "\n").utf8))
        let input = work.appendingPathComponent("reads.fa")
        try fasta.write(to: input)
        let model = CLIRunner.repository.appendingPathComponent("Fixtures/models/species").path
        let c = try CLIRunner.run(["classify", input.path, "--model", model, "--threads", "1"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let rows = c.output.split(separator: UInt8(ascii: "\n"))
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(Array(rows[1].prefix(name.count + 1)), name + [UInt8(ascii: "\t")])
        let e = try CLIRunner.run(["embed", "--model", CLIRunner.repository.appendingPathComponent("Fixtures/models/encoder").path,
                                   "--pool", "mean", input.path])
        XCTAssertEqual(e.status, 0, e.stderr)
        let embRows = e.output.split(separator: UInt8(ascii: "\n"))
        XCTAssertEqual(Array(embRows[1].prefix(name.count + 1)), name + [UInt8(ascii: "\t")])
    }
}
