import SeqIO
import XCTest

final class SummaryTests: XCTestCase {
    func testFastaSummary() throws {
        let s = try SequenceFileSummary.compute(path: fixture("multi.fa"))
        XCTAssertEqual(s.format, .fasta)
        XCTAssertEqual(s.compression, .none)
        XCTAssertEqual(s.records, 4)
        XCTAssertEqual(s.bases, 24 + 0 + 15 + 10)
        XCTAssertEqual(s.minLength, 0)
        XCTAssertEqual(s.maxLength, 24)
        // Sorted lengths 24, 15, 10, 0 over 49 bases: 24 < 24.5, 24 + 15 >= 24.5.
        XCTAssertEqual(s.n50, 15)
        // ACGT letters only: seq1 ACGTACGTACGTacgt (8 GC of 16), seq3 GGCCggcc (8 of 8),
        // seq4 acgtacgtgc (6 of 10).
        XCTAssertEqual(s.acgtBases, 34)
        XCTAssertEqual(s.gcBases, 22)
    }

    func testFastqSummaryMatchesRecords() throws {
        let reader = try SequenceReader(path: fixture("reads.fq"))
        var lengths: [Int] = []
        while let r = try reader.next() { lengths.append(r.sequence.count) }
        for name in ["reads.fq", "reads.fq.gz", "reads.fq.bgz"] {
            let s = try SequenceFileSummary.compute(path: fixture(name))
            XCTAssertEqual(s.format, .fastq)
            XCTAssertEqual(s.records, lengths.count)
            XCTAssertEqual(s.bases, lengths.reduce(0, +))
            XCTAssertEqual(s.maxLength, lengths.max())
            XCTAssertEqual(s.minLength, 0)
        }
    }

    func testAlignmentSummaryMatchesSamtools() throws {
        for name in ["aln.sam", "aln.bam", "aln.cram"] {
            let s = try AlignmentFileSummary.compute(path: fixture(name), reference: fixture("ref.fa"))
            XCTAssertEqual(s.records, 222, name)
            XCTAssertEqual(s.unmapped, 2, name)
            XCTAssertEqual(s.mapped, 220, name)
            XCTAssertEqual(s.secondary, 7, name)
            XCTAssertEqual(s.supplementary, 3, name)
            XCTAssertEqual(s.contigs.map(\.name), ["chr1", "chr2", "HLA-A*01:01"], name)
            XCTAssertEqual(s.hasIndex, name != "aln.sam", name)
        }
    }
}
