import Foundation
import SeqIO
import XCTest

/// Truncated and corrupted copies of each format end in a SeqIOError that names the file,
/// never in a crash or a silently short read.
final class DamagedInputTests: XCTestCase {
    override func setUp() { HTSLibLogLevel.off.apply() }
    override func tearDown() { HTSLibLogLevel.warning.apply() }

    /// Reads every record; returns the error (nil = read to the end cleanly).
    private func sequenceError(_ path: String) -> SeqIOError? {
        do {
            let reader = try SequenceReader(path: path)
            while try reader.advance() {}
            return nil
        } catch { return error as? SeqIOError }
    }

    private func alignmentError(_ path: String) -> SeqIOError? {
        do {
            let reader = try AlignmentReader(path: path, reference: fixture("ref.fa"))
            while try reader.next() != nil {}
            return nil
        } catch { return error as? SeqIOError }
    }

    /// A ~400 kB FASTA and FASTQ (several BGZF blocks) and their gzip/bgzip forms.
    private func makeLargeInputs(in dir: URL) throws {
        var fasta = "", fastq = ""
        var state: UInt64 = 42
        func base() -> Character {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return ["A", "C", "G", "T"][Int(state >> 62)]
        }
        for i in 0..<2000 {
            let s = String((0..<100).map { _ in base() })
            fasta += ">s\(i)\n\(s)\n"
            fastq += "@q\(i)\n\(s)\n+\n\(String(repeating: "I", count: 100))\n"
        }
        try fasta.write(to: dir.appendingPathComponent("big.fa"), atomically: true, encoding: .utf8)
        try fastq.write(to: dir.appendingPathComponent("big.fq"), atomically: true, encoding: .utf8)
        let (status, _, err) = try runTool(["sh", "-c", "gzip -c big.fa > big.fa.gz && bgzip -c big.fq > big.fq.bgz"], directory: dir.path)
        XCTAssertEqual(status, 0, err)
    }

    func testTruncatedCopies() throws {
        let dir = try temporaryDirectory(self)
        try makeLargeInputs(in: dir)
        let cases: [(String, String, Bool)] = [
            (dir.appendingPathComponent("big.fa.gz").path, "cut.fa.gz", true),
            (dir.appendingPathComponent("big.fq.bgz").path, "cut.fq.bgz", true),
            (dir.appendingPathComponent("big.fq").path, "cut.fq", true),
            (fixture("aln.bam"), "cut.bam", false),
            (fixture("aln.cram"), "cut.cram", false),
        ]
        for fraction in [0.3, 0.5, 0.77] {
            for (source, name, isSequence) in cases {
                let cut = dir.appendingPathComponent(name)
                try writeTruncatedCopy(of: source, to: cut, keeping: fraction)
                let error = isSequence ? sequenceError(cut.path) : alignmentError(cut.path)
                XCTAssertNotNil(error, "\(name) cut at \(fraction) read without error")
                if let error {
                    XCTAssertTrue(error.description.hasPrefix(cut.path + ": "), error.description)
                    XCTAssertTrue([.truncated, .malformed].contains(error.kind), error.description)
                }
            }
        }
    }

    func testCorruptedCopies() throws {
        let dir = try temporaryDirectory(self)
        try makeLargeInputs(in: dir)
        let cases: [(String, String, Bool)] = [
            (dir.appendingPathComponent("big.fa.gz").path, "bad.fa.gz", true),
            (dir.appendingPathComponent("big.fq.bgz").path, "bad.fq.bgz", true),
            (fixture("aln.bam"), "bad.bam", false),
            (fixture("aln.cram"), "bad.cram", false),
        ]
        for (source, name, isSequence) in cases {
            let bad = dir.appendingPathComponent(name)
            try writeCorruptedCopy(of: source, to: bad)
            let error = isSequence ? sequenceError(bad.path) : alignmentError(bad.path)
            XCTAssertNotNil(error, "\(name) with corrupted bytes read without error")
            if let error { XCTAssertTrue(error.description.hasPrefix(bad.path + ": "), error.description) }
        }
    }

    func testMalformedSequenceFiles() throws {
        XCTAssertEqual(sequenceError(fixture("no-header.fa"))?.kind, .malformed)
        XCTAssertTrue(sequenceError(fixture("no-header.fa"))?.problem.contains("first non-blank character is 'A'") ?? false)
        let mismatch = sequenceError(fixture("qual-mismatch.fq"))
        XCTAssertEqual(mismatch?.kind, .malformed)
        XCTAssertTrue(mismatch?.problem.contains("'bad': quality length 4 differs from sequence length 8") ?? false, "\(String(describing: mismatch))")
        XCTAssertEqual(sequenceError(fixture("does-not-exist.fa"))?.kind, .unreadable)
        XCTAssertEqual(sequenceError(fixtures.path)?.kind, .unreadable)
        XCTAssertEqual(sequenceError(fixture("aln.bam"))?.kind, .unsupportedFormat)
    }

    /// A quality line shorter than its one-line sequence is an error naming both lengths, also when kseq's habit of
    /// reading on into the next record would make the lengths add up (that record would be lost without a word).
    /// Sequences and qualities wrapped over several lines still read.
    func testShortQualityLineDoesNotSwallowTheNextRecord() throws {
        let dir = try temporaryDirectory(self)
        let cases: [(String, String, (Int, Int)?)] = [
            ("short.fq", "@a\nACGTACGT\n+\nIIII\n@b\nACGT\n+\nIIII\n", (4, 8)),
            ("adds-up.fq", "@a\nACGTACG\n+\nIIII\n@b\nACGT\n+\nIIII\n", (4, 7)),
            ("long.fq", "@a\nACGT\n+\nIIIIII\n", (6, 4)),
            ("wrapped.fq", "@m\nACGT\nACGT\n+\nIIII\nIIII\n@n\nAC\n+\nII\n", nil),
        ]
        for (name, text, lengths) in cases {
            let url = dir.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            let error = sequenceError(url.path)
            if let (q, s) = lengths {
                XCTAssertEqual(error?.kind, .malformed, name)
                XCTAssertTrue(error?.problem.contains("record 1 'a': quality length \(q) differs from sequence length \(s)") ?? false,
                              "\(name): \(String(describing: error))")
            } else {
                XCTAssertNil(error, name)
                let reader = try SequenceReader(path: url.path)
                let m = try XCTUnwrap(try reader.next()), n = try XCTUnwrap(try reader.next())
                XCTAssertEqual(m.sequence.count, 8)
                XCTAssertEqual(m.qualities?.count, 8)
                XCTAssertEqual(n.sequence.count, 2)
                XCTAssertNil(try reader.next())
            }
        }
    }

    func testEmptyAndBlankFilesHaveNoRecords() throws {
        let dir = try temporaryDirectory(self)
        for (name, text) in [("empty.fa", ""), ("blank.fa", "\n\n  \n"), ("lead.fa", "\n\n>a\nAC\n")] {
            let url = dir.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            XCTAssertNil(sequenceError(url.path), name)
        }
        XCTAssertEqual(try SequenceFileSummary.compute(path: dir.appendingPathComponent("lead.fa").path).bases, 2)
    }

    func testCRLFFastq() throws {
        let dir = try temporaryDirectory(self)
        let text = try String(contentsOfFile: fixture("reads.fq"), encoding: .utf8).replacingOccurrences(of: "\n", with: "\r\n")
        let url = dir.appendingPathComponent("crlf.fq")
        try text.write(to: url, atomically: true, encoding: .utf8)
        let a = try SequenceReader(path: url.path), b = try SequenceReader(path: fixture("reads.fq"))
        var n = 0
        while let x = try a.next() {
            XCTAssertEqual(x, try b.next())
            n += 1
        }
        XCTAssertEqual(n, 52)
    }
}
