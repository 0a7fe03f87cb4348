import Foundation
import SeqIO
import XCTest

final class AlignmentReaderTests: XCTestCase {
    /// samtools view output split into columns (no header).
    private func samtoolsView(_ args: [String]) throws -> [[Substring]] {
        let (status, out, err) = try runTool(["samtools", "view", "--no-PG"] + args)
        XCTAssertEqual(status, 0, err)
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
    }

    private func readAll(_ reader: AlignmentReader) throws -> [AlignmentRecord] {
        var out: [AlignmentRecord] = []
        while let r = try reader.next() { out.append(r) }
        return out
    }

    func testSampleNamesFromReadGroups() throws {
        for name in ["aln.sam", "aln.bam", "aln.cram"] {
            let reader = try AlignmentReader(path: fixture(name), reference: fixture("ref.fa"))
            XCTAssertEqual(reader.sampleNames, ["sample1"], name)
        }
    }

    func testFieldsMatchSamtoolsForSamBamCram() throws {
        let expected = try samtoolsView([fixture("aln.bam")])
        for name in ["aln.sam", "aln.bam", "aln-csi.bam", "aln.cram"] {
            let reader = try AlignmentReader(path: fixture(name), reference: fixture("ref.fa"))
            let records = try readAll(reader)
            XCTAssertEqual(records.count, expected.count, name)
            for (r, cols) in zip(records, expected) {
                XCTAssertEqual(r.name, String(cols[0]))
                XCTAssertEqual(Int(r.flags.rawValue), Int(cols[1]))
                XCTAssertEqual(r.contig ?? "*", String(cols[2]))
                XCTAssertEqual(r.position + 1, Int(cols[3]))
                XCTAssertEqual(r.mappingQuality, Int(cols[4]))
                XCTAssertEqual(r.cigarString, String(cols[5]))
                XCTAssertEqual(r.sequence.isEmpty ? "*" : String(decoding: r.sequence, as: UTF8.self), String(cols[9]), r.name)
                let qual = r.qualities.map { String(decoding: $0.map { $0 + 33 }, as: UTF8.self) } ?? "*"
                XCTAssertEqual(qual, String(cols[10]), r.name)
            }
        }
    }

    func testAuxTagsAndOrientation() throws {
        let reader = try AlignmentReader(path: fixture("aln.bam"))
        let records = try readAll(reader)
        let reverse = try XCTUnwrap(records.first { $0.isReverse && $0.qualities != nil })
        XCTAssertEqual(reverse.aux("RG"), .string("grp1"))
        guard case .integer = reverse.aux("NM") else { return XCTFail("NM is not an integer") }
        guard case .float(let f) = reverse.aux("XF") else { return XCTFail("XF is not a float") }
        XCTAssertTrue((0...1).contains(f))
        guard case .character(let c) = reverse.aux("XA") else { return XCTFail("XA is not a character") }
        XCTAssertTrue(c == UInt8(ascii: "P") || c == UInt8(ascii: "Q"))
        XCTAssertNil(reverse.aux("ZZ"))
        let original = reverse.originalOrientation
        XCTAssertEqual(original.sequence, reverseComplement(reverse.sequence))
        XCTAssertEqual(reverseComplement(original.sequence), reverse.sequence)
        XCTAssertEqual(original.qualities, reverse.qualities.map { Array($0.reversed()) })
        XCTAssertEqual(reverseComplement(Array("ACGTNacgtnRY".utf8)), Array("RYnacgtNACGT".utf8))
        let forward = try XCTUnwrap(records.first { !$0.isReverse && $0.isMapped })
        XCTAssertEqual(forward.originalOrientation.sequence, forward.sequence)
        XCTAssertEqual(reader.contigs.map(\.length), [3000, 1800, 400])
    }

    func testRegionQueriesMatchSamtools() throws {
        for name in ["aln.bam", "aln-csi.bam", "aln.cram"] {
            for region in ["chr1:1,000-1,500", "chr2", "{HLA-A*01:01}:100-200", "chr1:2900"] {
                let expected = try samtoolsView(["-T", fixture("ref.fa"), fixture(name), region]).map { String($0[0]) }
                let reader = try AlignmentReader(path: fixture(name), reference: fixture("ref.fa"))
                XCTAssertTrue(reader.hasIndex)
                try reader.query(region)
                XCTAssertEqual(try readAll(reader).map(\.name), expected, "\(name) \(region)")
                XCTAssertFalse(expected.isEmpty)
            }
        }
    }

    func testMissingIndexAndUnknownContig() throws {
        let dir = try temporaryDirectory(self)
        let copy = dir.appendingPathComponent("noindex.bam")
        try FileManager.default.copyItem(atPath: fixture("aln.bam"), toPath: copy.path)
        let reader = try AlignmentReader(path: copy.path)
        XCTAssertFalse(reader.hasIndex)
        XCTAssertThrowsError(try reader.query("chr1:1-100")) { error in
            XCTAssertEqual((error as? SeqIOError)?.kind, .missingIndex)
            XCTAssertTrue("\(error)".hasPrefix(copy.path + ": no index"), "\(error)")
        }
        let indexed = try AlignmentReader(path: fixture("aln.bam"))
        XCTAssertThrowsError(try indexed.query("chr9:1-100")) { error in
            XCTAssertEqual((error as? SeqIOError)?.kind, .unknownContig)
            XCTAssertTrue("\(error)".contains("unknown contig 'chr9'"), "\(error)")
        }
        XCTAssertThrowsError(try indexed.query(Region(contig: "chr9", start: 0, end: 10))) {
            XCTAssertEqual(($0 as? SeqIOError)?.kind, .unknownContig)
        }
    }

    func testNotAnAlignmentFile() {
        XCTAssertThrowsError(try AlignmentReader(path: fixture("reads.fq"))) {
            XCTAssertEqual(($0 as? SeqIOError)?.kind, .unsupportedFormat)
        }
        XCTAssertThrowsError(try AlignmentReader(path: fixture("nope.bam"))) {
            XCTAssertEqual(($0 as? SeqIOError)?.kind, .unreadable)
            XCTAssertTrue("\($0)".contains("No such file"), "\($0)")
        }
    }
}
