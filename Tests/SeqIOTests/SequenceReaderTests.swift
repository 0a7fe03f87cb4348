import Foundation
import SeqIO
import XCTest

final class SequenceReaderTests: XCTestCase {
    private func readAll(_ path: String) throws -> [SequenceRecord] {
        let reader = try SequenceReader(path: path)
        var records: [SequenceRecord] = []
        while let r = try reader.next() { records.append(r) }
        return records
    }

    private let expectedMulti: [(String, String, String)] = [
        ("seq1", "first record, comment text", "ACGTACGTACGTacgtNNNNRYKM"),
        ("empty", "", ""),
        ("seq3", "", "GGCCggccSWBDHVN"),
        ("seq4", "lowercase only", "acgtacgtgc"),
    ]

    func testMultiLineFastaKeepsCaseIUPACAndEmptyRecords() throws {
        let records = try readAll(fixture("multi.fa"))
        XCTAssertEqual(records.map(\.name), expectedMulti.map(\.0))
        XCTAssertEqual(records.map(\.comment), expectedMulti.map(\.1))
        XCTAssertEqual(records.map(\.sequenceString), expectedMulti.map(\.2))
        XCTAssertTrue(records.allSatisfy { $0.qualities == nil })
    }

    func testCRLFAndGzipGiveTheSameRecords() throws {
        let plain = try readAll(fixture("multi.fa"))
        XCTAssertEqual(try readAll(fixture("crlf.fa")), plain)
        XCTAssertEqual(try readAll(fixture("multi.fa.gz")), plain)
    }

    func testFastqPlainGzipAndBGZFAgree() throws {
        let plain = try readAll(fixture("reads.fq"))
        XCTAssertEqual(plain.count, 52)
        XCTAssertEqual(plain[0].name, "read0")
        XCTAssertEqual(plain[0].comment, "sample=A")
        for r in plain { XCTAssertEqual(r.qualities?.count, r.sequence.count, r.name) }
        let empty = try XCTUnwrap(plain.first { $0.name == "emptyread" })
        XCTAssertEqual(empty.sequence, [])
        XCTAssertEqual(empty.qualities, [])
        XCTAssertEqual(plain.last?.name, "multiline")
        XCTAssertEqual(plain.last?.sequence.count, 70)
        XCTAssertEqual(try readAll(fixture("reads.fq.gz")), plain)
        XCTAssertEqual(try readAll(fixture("reads.fq.bgz")), plain)
    }

    func testDetectsFormatAndCompressionFromContent() throws {
        XCTAssertEqual(try SequenceReader(path: fixture("reads.fq")).detected, DetectedFormat(format: .fastq, compression: .none))
        XCTAssertEqual(try SequenceReader(path: fixture("reads.fq.gz")).detected, DetectedFormat(format: .fastq, compression: .gzip))
        XCTAssertEqual(try SequenceReader(path: fixture("reads.fq.bgz")).detected, DetectedFormat(format: .fastq, compression: .bgzf))
        XCTAssertEqual(try SequenceReader(path: fixture("multi.fa.gz")).detected, DetectedFormat(format: .fasta, compression: .gzip))
        // A misleading name does not matter.
        let dir = try temporaryDirectory(self)
        let renamed = dir.appendingPathComponent("looks-plain.fa")
        try FileManager.default.copyItem(atPath: fixture("reads.fq.bgz"), toPath: renamed.path)
        XCTAssertEqual(try SequenceReader(path: renamed.path).detected.compression, .bgzf)
    }

    func testBorrowedViewsMatchCopies() throws {
        let copies = try readAll(fixture("reads.fq.bgz"))
        let reader = try SequenceReader(path: fixture("reads.fq.bgz"), threads: 2)
        var i = 0
        while try reader.advance() {
            XCTAssertEqual(Array(reader.currentSequence), copies[i].sequence)
            XCTAssertEqual(reader.currentQualities.map(Array.init), copies[i].qualities)
            i += 1
        }
        XCTAssertEqual(i, copies.count)
        XCTAssertEqual(reader.recordCount, copies.count)
    }

    func testLongSequenceOver10Mbp() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("long.fa.gz")
        let length = 12_000_000
        var text = Data(">long\n".utf8)
        let line = Data(repeating: UInt8(ascii: "G"), count: 79) + Data("C\n".utf8)
        text.reserveCapacity(length + length / 80 + 16)
        for _ in 0..<(length / 80) { text.append(line) }
        try text.write(to: dir.appendingPathComponent("long.fa"))
        try runTool(["sh", "-c", "gzip -1 -c long.fa > long.fa.gz"], directory: dir.path)
        let summary = try SequenceFileSummary.compute(path: path.path)
        XCTAssertEqual(summary.records, 1)
        XCTAssertEqual(summary.bases, length)
        XCTAssertEqual(summary.n50, length)
        XCTAssertEqual(summary.gcFraction, 1.0)
    }
}
