import Foundation
import SeqIO
import XCTest

final class ReferenceFastaTests: XCTestCase {
    /// The reference sequence of each contig, read with SequenceReader.
    private func contigs() throws -> [String: [UInt8]] {
        let reader = try SequenceReader(path: fixture("ref.fa"))
        var out: [String: [UInt8]] = [:]
        while let r = try reader.next() { out[r.name] = r.sequence }
        return out
    }

    func testFetchMatchesSequenceReaderForPlainAndBgzip() throws {
        let truth = try contigs()
        for path in [fixture("ref.fa"), fixture("ref.fa.bgz")] {
            let ref = try ReferenceFasta(path: path)
            XCTAssertEqual(ref.contigs, [Contig(name: "chr1", length: 3000), Contig(name: "chr2", length: 1800),
                                         Contig(name: "HLA-A*01:01", length: 400)])
            XCTAssertEqual(try ref.fetch(Region(contig: "chr1", start: 0, end: 3000)), truth["chr1"])
            XCTAssertEqual(try ref.fetch(Region(contig: "chr2", start: 59, end: 121)), Array(truth["chr2"]![59..<121]))
            XCTAssertEqual(try ref.fetch("chr2:60-121"), Array(truth["chr2"]![59..<121]))
            XCTAssertEqual(try ref.fetch("{HLA-A*01:01}:391-400"), Array(truth["HLA-A*01:01"]![390..<400]))
            XCTAssertEqual(try ref.fetch(Region(contig: "chr1", start: 5, end: 5)), [])
        }
    }

    func testErrors() throws {
        let ref = try ReferenceFasta(path: fixture("ref.fa"))
        XCTAssertThrowsError(try ref.fetch(Region(contig: "chrZ", start: 0, end: 1))) {
            XCTAssertEqual(($0 as? SeqIOError)?.kind, .unknownContig)
            XCTAssertTrue("\($0)".contains("chrZ"))
        }
        XCTAssertThrowsError(try ref.fetch(Region(contig: "chr1", start: 2990, end: 3010))) {
            XCTAssertEqual(($0 as? SeqIOError)?.kind, .invalidRegion)
        }
        XCTAssertThrowsError(try ReferenceFasta(path: fixture("missing.fa"))) {
            XCTAssertEqual(($0 as? SeqIOError)?.kind, .unreadable)
        }
    }

    func testBuildsTheIndexOnlyWhenAllowed() throws {
        let dir = try temporaryDirectory(self)
        let copy = dir.appendingPathComponent("ref.fa")
        try FileManager.default.copyItem(atPath: fixture("ref.fa"), toPath: copy.path)
        XCTAssertThrowsError(try ReferenceFasta(path: copy.path)) {
            XCTAssertEqual(($0 as? SeqIOError)?.kind, .unreadable)
            XCTAssertTrue("\($0)".contains("samtools faidx"), "\($0)")
        }
        let ref = try ReferenceFasta(path: copy.path, createIndex: true)
        XCTAssertEqual(ref.contigs.count, 3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: copy.path + ".fai"))
    }
}
