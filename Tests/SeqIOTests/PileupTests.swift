import Foundation
import SeqIO
import XCTest

/// Pileup against `samtools mpileup` on the fixture BAM.
///
/// samtools options used on every run: `-B` (no BAQ: it needs a reference and changes
/// qualities) and `-x` (no read-pair overlap removal, which zeroes mate qualities; htslib's
/// plain pileup does not do it). Everything else is samtools' default unless a case says
/// so: min base quality 13, min MAPQ 0, flag mask UNMAP|SECONDARY|QCFAIL|DUP, anomalous
/// pairs skipped.
final class PileupTests: XCTestCase {
    /// samtools' read-bases column without a reference: `^`+MAPQ at a read start, the base
    /// (uppercase forward, lowercase reverse), `*` for a deletion, `+n`/`-n` indels, `$` at a read end.
    private func samtoolsBases(_ column: PileupColumn) -> String {
        var s = ""
        for e in column.entries {
            if e.isHead { s += "^" + String(UnicodeScalar(UInt8(min(e.mappingQuality, 93) + 33))) }
            var base = Character(UnicodeScalar(e.base))
            if e.isRefSkip { base = e.isReverse ? "<" : ">" }
            else if !e.isDeletion && e.isReverse { base = Character(base.lowercased()) }
            s.append(base)
            if e.indel > 0 {
                let ins = String(decoding: e.insertedBases, as: UTF8.self)
                s += "+\(e.indel)" + (e.isReverse ? ins.lowercased() : ins)
            } else if e.indel < 0 {
                s += "\(e.indel)" + String(repeating: e.isReverse ? "n" : "N", count: -e.indel)
            }
            if e.isTail { s += "$" }
        }
        return s
    }

    private func compare(filter: PileupFilter, samtoolsOptions: [String], region: String?, file: String = "aln.bam") throws {
        // samtools always reads the BAM: given a reference (needed for CRAM) it would print
        // matches as '.'/','. The CRAM holds the same records.
        var args = ["samtools", "mpileup", "-B", "-x"] + samtoolsOptions
        if let region { args += ["-r", region] }
        args.append(fixture("aln.bam"))
        let (status, out, err) = try runTool(args)
        XCTAssertEqual(status, 0, err)
        // samtools also prints positions whose every base failed -Q (depth 0); Pileup skips them.
        let expected = String(decoding: out, as: UTF8.self).split(separator: "\n").compactMap { line -> String? in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            return f[3] == "0" ? nil : "\(f[0])\t\(f[1])\t\(f[3])\t\(f[4])"
        }
        let reader = try AlignmentReader(path: fixture(file), reference: fixture("ref.fa"))
        let pileup = try Pileup(reader: reader, region: try region.map { try Region.parse($0, contigs: reader.contigs) }, filter: filter)
        var got: [String] = []
        while let column = try pileup.next() {
            got.append("\(column.contig)\t\(column.position + 1)\t\(column.depth)\t\(samtoolsBases(column))")
        }
        XCTAssertGreaterThan(expected.count, 50)
        XCTAssertEqual(got.count, expected.count, "columns \(samtoolsOptions) \(region ?? "")")
        for (g, e) in zip(got, expected) where g != e {
            XCTFail("first difference (\(samtoolsOptions)):\n ours:     \(g)\n samtools: \(e)")
            break
        }
    }

    func testWholeFileWithSamtoolsDefaults() throws {
        try compare(filter: PileupFilter(), samtoolsOptions: [], region: nil)
    }

    func testRegionMinMapqNoBaseQualityAndOrphans() throws {
        var filter = PileupFilter()
        filter.minMappingQuality = 30
        filter.minBaseQuality = 0
        filter.includeAnomalousPairs = true
        try compare(filter: filter, samtoolsOptions: ["-q", "30", "-Q", "0", "-A"], region: "chr1:500-2,500")
        try compare(filter: filter, samtoolsOptions: ["-q", "30", "-Q", "0", "-A"], region: "chr2", file: "aln.cram")
    }

    func testCustomFlagMask() throws {
        var filter = PileupFilter()
        filter.excludeFlags = [.unmapped]
        filter.minBaseQuality = 20
        try compare(filter: filter, samtoolsOptions: ["--ff", "UNMAP", "-Q", "20"], region: "{HLA-A*01:01}")
    }

    func testColumnFields() throws {
        let reader = try AlignmentReader(path: fixture("aln.bam"))
        var filter = PileupFilter()
        filter.minBaseQuality = 0
        let pileup = try Pileup(reader: reader, region: Region(contig: "chr2", start: 100, end: 200), filter: filter)
        var positions: [Int] = []
        var sawInsertion = false, sawDeletion = false
        while let c = try pileup.next() {
            XCTAssertEqual(c.contig, "chr2")
            XCTAssertEqual(c.tid, 1)
            positions.append(c.position)
            for e in c.entries {
                XCTAssertFalse(e.flags.contains(.duplicate) || e.flags.contains(.secondary))
                if e.indel > 0 { sawInsertion = true; XCTAssertEqual(e.insertedBases.count, e.indel) }
                if e.isDeletion { sawDeletion = true; XCTAssertEqual(e.base, UInt8(ascii: "*")) }
            }
        }
        XCTAssertEqual(positions.first.map { $0 >= 100 }, true)
        XCTAssertEqual(positions.last.map { $0 < 200 }, true)
        XCTAssertEqual(positions, positions.sorted())
        _ = (sawInsertion, sawDeletion)
    }
}
