import Foundation
import SeqIO
import XCTest

/// `Pileup(…, readSummaries: true)`: each entry carries its read's `ReadSummary`, and the columns
/// are otherwise those of a plain pileup.
final class PileupReadSummaryTests: XCTestCase {
    func columns(_ path: String, region: Region?, filter: PileupFilter = PileupFilter(), summaries: Bool) throws -> [PileupColumn] {
        let reader = try AlignmentReader(path: path)
        let pileup = try Pileup(reader: reader, region: region, filter: filter, readSummaries: summaries)
        var out: [PileupColumn] = []
        while let c = try pileup.next() { out.append(c) }
        return out
    }

    func testSameColumnsWithAndWithoutSummaries() throws {
        for region in [nil, Region(contig: "chr1", start: 100, end: 400)] as [Region?] {
            let plain = try columns(fixture("aln.bam"), region: region, summaries: false)
            let with = try columns(fixture("aln.bam"), region: region, summaries: true)
            XCTAssertFalse(plain.isEmpty)
            XCTAssertEqual(plain.count, with.count)
            for (a, b) in zip(plain, with) {
                XCTAssertEqual(a.position, b.position)
                XCTAssertTrue(a.entries.allSatisfy { $0.readSummary == nil })
                XCTAssertTrue(b.entries.allSatisfy { $0.readSummary != nil })
                XCTAssertEqual(a.entries, b.entries.map { var e = $0; e.readSummary = nil; return e })
            }
        }
    }

    func testSummaryValues() throws {
        let dir = try temporaryDirectory(self)
        let seq = { (n: Int) in String(repeating: "ACGT", count: n / 4 + 1).prefix(n) }
        let sam = """
        @HD\tVN:1.6\tSO:coordinate
        @SQ\tSN:c1\tLN:2000
        r1\t0\tc1\t101\t60\t5S20M\t*\t0\t0\t\(seq(25))\t*\tNM:i:2\tAS:i:30\tXS:i:10
        r2\t97\tc1\t301\t60\t10M2I8M2D10M\t=\t900\t0\t\(seq(30))\t*\tAS:i:20\tSA:Z:c1,1500,+,30M,60,0;
        r3\t99\tc1\t501\t60\t300S20M\t=\t600\t119\t\(seq(320))\t*\tNM:i:300\tAS:i:50\tXS:i:60

        """
        let samPath = dir.appendingPathComponent("reads.sam").path
        let bam = dir.appendingPathComponent("reads.bam").path
        try sam.write(toFile: samPath, atomically: true, encoding: .utf8)
        var (status, _, err) = try runTool(["samtools", "view", "-b", "-o", bam, samPath])
        XCTAssertEqual(status, 0, err)
        (status, _, err) = try runTool(["samtools", "index", bam])
        XCTAssertEqual(status, 0, err)

        var filter = PileupFilter()
        filter.includeAnomalousPairs = true
        let expected: [(Range<Int>, ReadSummary)] = [
            (100..<120, ReadSummary(editDistance: 2, softClipped: 5, scoreMargin: 20, discordant: false, split: false)),
            // No NM: the CIGAR's inserted + deleted bases; no XS: no margin.
            (300..<330, ReadSummary(editDistance: 4, softClipped: 0, scoreMargin: ReadSummary.noMargin, discordant: true, split: true)),
            // Capped at 255; XS above AS clamps to 0.
            (500..<520, ReadSummary(editDistance: 255, softClipped: 255, scoreMargin: 0, discordant: false, split: false)),
        ]
        for region in [nil, Region(contig: "c1", start: 0, end: 2000)] as [Region?] {
            let cols = try columns(bam, region: region, filter: filter, summaries: true)
            XCTAssertEqual(cols.count, 20 + 30 + 20)
            for c in cols {
                XCTAssertEqual(c.depth, 1)
                let want = expected.first { $0.0.contains(c.position) }?.1
                XCTAssertNotNil(want, "position \(c.position)")
                XCTAssertEqual(c.entries[0].readSummary, want, "position \(c.position)")
            }
        }
        XCTAssertEqual(expected[2].1.editDistance, 255)
        XCTAssertEqual(expected[1].1.scoreMargin, 255)
    }
}
