import SeqIO
import XCTest

final class RegionTests: XCTestCase {
    let contigs = [Contig(name: "chr1", length: 3000), Contig(name: "chr2", length: 1800),
                   Contig(name: "HLA-A*01:01", length: 400), Contig(name: "chrX:1-5", length: 50),
                   Contig(name: "chrX", length: 100)]

    func testWholeContig() throws {
        XCTAssertEqual(try Region.parse("chr1"), Region(contig: "chr1", start: 0, end: nil))
        XCTAssertEqual(try Region.parse("chr1", contigs: contigs), Region(contig: "chr1", start: 0, end: 3000))
    }

    func testBeginOnlyRunsToTheContigEnd() throws {
        XCTAssertEqual(try Region.parse("chr1:100"), Region(contig: "chr1", start: 99, end: nil))
        XCTAssertEqual(try Region.parse("chr1:100", contigs: contigs), Region(contig: "chr1", start: 99, end: 3000))
        XCTAssertEqual(try Region.parse("chr1:100-", contigs: contigs), Region(contig: "chr1", start: 99, end: 3000))
    }

    func testOneBasedInclusiveBecomesZeroBasedHalfOpen() throws {
        let r = try Region.parse("chr2:11-20")
        XCTAssertEqual(r, Region(contig: "chr2", start: 10, end: 20))
        XCTAssertEqual(r.length, 10)
        XCTAssertEqual(r.description, "chr2:11-20")
        XCTAssertEqual(try Region.parse("chr2:5-5"), Region(contig: "chr2", start: 4, end: 5))
    }

    func testThousandsSeparators() throws {
        XCTAssertEqual(try Region.parse("chr1:1,000-2,000"), Region(contig: "chr1", start: 999, end: 2000))
        XCTAssertEqual(try Region.parse("chr1:1,500", contigs: contigs), Region(contig: "chr1", start: 1499, end: 3000))
    }

    func testBracedNamesWithColons() throws {
        XCTAssertEqual(try Region.parse("{HLA-A*01:01}:1-10", contigs: contigs),
                       Region(contig: "HLA-A*01:01", start: 0, end: 10))
        XCTAssertEqual(try Region.parse("{HLA-A*01:01}", contigs: contigs),
                       Region(contig: "HLA-A*01:01", start: 0, end: 400))
        XCTAssertEqual(try Region.parse("{HLA-A*01:01}:1-10"), Region(contig: "HLA-A*01:01", start: 0, end: 10))
        XCTAssertEqual(Region(contig: "HLA-A*01:01", start: 0, end: 10).description, "{HLA-A*01:01}:1-10")
    }

    func testNameWithColonResolvedByContigList() throws {
        // Unbraced, the whole string is a contig name and "01" is not a range of "HLA-A*01".
        XCTAssertEqual(try Region.parse("HLA-A*01:01", contigs: contigs), Region(contig: "HLA-A*01:01", start: 0, end: 400))
        XCTAssertEqual(try Region.parse("HLA-A*01:01:5-9", contigs: contigs), Region(contig: "HLA-A*01:01", start: 4, end: 9))
    }

    func testAmbiguousNameIsAnError() {
        // "chrX:1-5" is a contig and also a range of chrX.
        XCTAssertThrowsError(try Region.parse("chrX:1-5", contigs: contigs)) { error in
            XCTAssertEqual((error as? SeqIOError)?.kind, .invalidRegion)
            XCTAssertTrue("\(error)".contains("ambiguous"), "\(error)")
        }
        XCTAssertEqual(try Region.parse("{chrX:1-5}", contigs: contigs), Region(contig: "chrX:1-5", start: 0, end: 50))
        XCTAssertEqual(try Region.parse("{chrX}:1-5", contigs: contigs), Region(contig: "chrX", start: 0, end: 5))
    }

    func testEndIsClippedToTheContig() throws {
        XCTAssertEqual(try Region.parse("chr2:1700-9000", contigs: contigs), Region(contig: "chr2", start: 1699, end: 1800))
    }

    func testErrors() {
        func kind(_ text: String, _ list: [Contig]? = nil) -> SeqIOError.Kind? {
            do { _ = try Region.parse(text, contigs: list); return nil } catch { return (error as? SeqIOError)?.kind }
        }
        XCTAssertEqual(kind("chr9:1-10", contigs), .unknownContig)
        XCTAssertEqual(kind("chr1:20-10"), .invalidRegion)
        XCTAssertEqual(kind("chr1:0-10"), .invalidRegion)
        XCTAssertEqual(kind("chr1:5000-6000", contigs), .invalidRegion)
        XCTAssertEqual(kind("chr1:abc", contigs), .invalidRegion)
        XCTAssertEqual(kind("{chr1"), .invalidRegion)
        XCTAssertEqual(kind("{chr1}x"), .invalidRegion)
        XCTAssertEqual(kind(""), .invalidRegion)
        do {
            _ = try Region.parse("chr1:20-10", source: "-r")
        } catch {
            XCTAssertEqual("\(error)", "-r: region 'chr1:20-10': begin 20 is greater than end 10")
        }
    }

    func testBEDReader() throws {
        let dir = try temporaryDirectory(self)
        let bed = dir.appendingPathComponent("r.bed")
        try "# comment\ntrack name=x\nchr1\t0\t100\tfirst\r\n\nchr2\t5\t6\nHLA-A*01:01\t10\t20\t.\t0\t+\n"
            .write(to: bed, atomically: true, encoding: .utf8)
        let regions = try BEDReader.read(path: bed.path, contigs: contigs)
        XCTAssertEqual(regions, [Region(contig: "chr1", start: 0, end: 100), Region(contig: "chr2", start: 5, end: 6),
                                 Region(contig: "HLA-A*01:01", start: 10, end: 20)])
        try "chr1\t10\t5\n".write(to: bed, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BEDReader.read(path: bed.path)) { XCTAssertEqual(($0 as? SeqIOError)?.kind, .invalidRegion) }
        try "chr7\t1\t5\n".write(to: bed, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BEDReader.read(path: bed.path, contigs: contigs)) { XCTAssertEqual(($0 as? SeqIOError)?.kind, .unknownContig) }
        try "chr1 1 5\n".write(to: bed, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BEDReader.read(path: bed.path)) { XCTAssertEqual(($0 as? SeqIOError)?.kind, .malformed) }
    }
}
