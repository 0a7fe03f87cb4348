import Foundation
import XCTest
@testable import DNATasks

/// `mamba-dna annotate --motifs` end to end: outputs, coordinates, regions, errors.
final class AnnotateMotifTests: XCTestCase {
    func fixture(_ name: String) -> String { MotifTests.fixtures.appendingPathComponent(name).path }

    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("motif-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try CLIRunner.run(args)
        return (r.status, r.stdout, r.stderr)
    }

    /// Tab-separated fields of each line, `#` lines (the BED header) left out.
    func lines(_ file: String) throws -> [[String]] {
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// FASTA records as (name, bases).
    func records(_ file: String) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        var name = ""
        for line in try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix(">") { name = String(line.dropFirst().split(separator: " ")[0]); out[name] = [] }
            else { out[name]! += Array(line.utf8) }
        }
        return out
    }

    /// BED and TSV describe the same hits (BED 0-based, TSV 1-based inclusive), each matched
    /// sequence is the window's bases (reverse-complemented on '-'), and rows are sorted by
    /// sequence then position.
    func testFastaScanBEDAndTSVAgree() throws {
        let r = try run(["annotate", fixture("seqs.fa"), "--motifs", fixture("small.jaspar"), "--thresh", "1e-3",
                         "-o", path("hits.bed"), "--tsv", path("hits.tsv")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let bed = try lines(path("hits.bed")), tsv = try lines(path("hits.tsv"))
        XCTAssertEqual(tsv.first, ["motif_id", "motif_alt_id", "sequence_name", "start", "stop", "strand", "score", "p-value", "q-value", "matched_sequence"])
        XCTAssertEqual(bed.count, tsv.count - 1)
        XCTAssertGreaterThan(bed.count, 5)
        let seqs = try records(fixture("seqs.fa"))
        let order = ["seq1", "seq2", "seq3", "seq4", "seq5", "seq6", "tiny"]
        var last = (-1, -1)
        for (b, t) in zip(bed, tsv.dropFirst()) {
            XCTAssertEqual(b.count, 10)
            XCTAssertEqual(t.count, 10)
            XCTAssertEqual(t[0], b[3]); XCTAssertEqual(t[2], b[0])
            XCTAssertEqual(t[1], b[3] == "TST1.1" ? "SHORT" : "LONG")
            XCTAssertEqual(Int(t[3])!, Int(b[1])! + 1); XCTAssertEqual(Int(t[4])!, Int(b[2])!)
            XCTAssertEqual(Array(t[5...9]), [b[5], b[6], b[7], b[8], b[9]])
            // BED score: 0–1000 from the p-value (p printed to 4 digits: ±1 from rounding that p).
            let p = Double(b[7])!, bedScore = Int(b[4])!
            XCTAssertEqual(Double(bedScore), min(1000, -100 * log10(p)), accuracy: 1, "\(b)")
            let window = Array(seqs[b[0]]![Int(b[1])!..<Int(b[2])!])
            let shown = b[5] == "-" ? MotifScanner.reverseComplement(window) : window
            XCTAssertEqual(b[9], String(decoding: shown, as: UTF8.self))
            XCTAssertLessThan(Double(b[7])!, 1e-3)
            XCTAssertFalse(window.contains(UInt8(ascii: "N")) || window.contains(UInt8(ascii: "R")))
            let key = (order.firstIndex(of: b[0])!, Int(b[1])!)
            XCTAssertTrue(key >= last, "not sorted at \(b)")
            last = key
        }
        XCTAssertTrue(bed.contains { $0[5] == "-" } && bed.contains { $0[5] == "+" })
        // MEME input of the same motifs gives the same hits.
        let m = try run(["annotate", fixture("seqs.fa"), "--motifs", fixture("small.meme"), "--thresh", "1e-3", "-o", path("meme.bed")])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertEqual(try String(contentsOfFile: path("meme.bed"), encoding: .utf8), try String(contentsOfFile: path("hits.bed"), encoding: .utf8))
    }

    func copyReference() throws -> String {
        let ref = path("ref.fa")
        try FileManager.default.copyItem(atPath: fixture("ref.fa"), toPath: ref)
        return ref
    }

    /// Region scans report reference coordinates: the same windows as scanning the extracted
    /// region as a FASTA record, shifted by the region start.
    func testReferenceRegionCoordinates() throws {
        let ref = try copyReference()
        let r = try run(["annotate", "-f", ref, "-r", "chrA:101-700", "--motifs", fixture("small.jaspar"), "--thresh", "2e-3", "-o", path("r.bed")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let contig = try records(ref)["chrA"]!
        try (">part\n" + String(decoding: contig[100..<700], as: UTF8.self) + "\n").write(toFile: path("part.fa"), atomically: true, encoding: .utf8)
        let f = try run(["annotate", path("part.fa"), "--motifs", fixture("small.jaspar"), "--thresh", "2e-3", "-o", path("f.bed")])
        XCTAssertEqual(f.status, 0, f.stderr)
        let region = try lines(path("r.bed")), part = try lines(path("f.bed"))
        XCTAssertGreaterThan(region.count, 3)
        XCTAssertEqual(region.map { [$0[0], String(Int($0[1])! - 100), String(Int($0[2])! - 100), $0[3], $0[5], $0[7], $0[9]] },
                       part.map { ["chrA", $0[1], $0[2], $0[3], $0[5], $0[7], $0[9]] })
        for h in region { XCTAssertTrue(Int(h[1])! >= 100 && Int(h[2])! <= 700) }
    }

    /// -R regions are merged where they overlap (no duplicate hits); the whole reference by default.
    func testRegionsFileAndWholeReference() throws {
        let ref = try copyReference()
        let r = try run(["annotate", "-f", ref, "-R", fixture("regions.bed"), "--motifs", fixture("small.jaspar"), "--thresh", "5e-3", "-o", path("r.bed")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let w = try run(["annotate", "-f", ref, "--motifs", fixture("small.jaspar"), "--thresh", "5e-3", "-o", path("w.bed")])
        XCTAssertEqual(w.status, 0, w.stderr)
        let inRegions = try lines(path("r.bed")), whole = try lines(path("w.bed"))
        XCTAssertEqual(Set(inRegions.map { $0.joined(separator: " ") }).count, inRegions.count)
        let inside = { (h: [String]) -> Bool in
            let s = Int(h[1])!, e = Int(h[2])!
            return (h[0] == "chrA" && s >= 99 && e <= 600) || (h[0] == "chrB" && e <= 200)
        }
        XCTAssertTrue(inRegions.allSatisfy(inside))
        // Same windows and p-values as the whole-reference scan restricted to the regions.
        XCTAssertEqual(inRegions.map { Array($0[0...7]) + [$0[9]] }, whole.filter(inside).map { Array($0[0...7]) + [$0[9]] })
        XCTAssertTrue(whole.contains { $0[0] == "chrB" })
    }

    /// Chunked reference reading sees every window once, including those across chunk borders.
    func testChunkedReferenceScanEqualsWholeSequenceScan() throws {
        let ref = try copyReference()
        var o = MotifAnnotator.Options(motifs: fixture("small.jaspar"))
        o.reference = ref; o.threshold = 5e-3; o.output = path("chunked.bed"); o.chunkSize = 37
        let chunked = try MotifAnnotator.run(o)
        o.chunkSize = 1 << 20; o.output = path("whole.bed")
        let whole = try MotifAnnotator.run(o)
        XCTAssertEqual(chunked.tested, whole.tested)
        XCTAssertEqual(chunked.bases, 1400)
        XCTAssertEqual(try String(contentsOfFile: path("chunked.bed"), encoding: .utf8), try String(contentsOfFile: path("whole.bed"), encoding: .utf8))
    }

    /// --background input uses the scanned composition; --qv-thresh filters on q-values.
    func testBackgroundAndQValueOptions() throws {
        let a = try run(["annotate", fixture("seqs.fa"), "--motifs", fixture("small.jaspar"), "--background", "input", "--thresh", "1e-2", "-o", path("a.bed")])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stderr.contains("background A 0.2") || a.stderr.contains("background A 0.3"), a.stderr)
        let b = try run(["annotate", fixture("seqs.fa"), "--motifs", fixture("small.jaspar"), "--background", fixture("background.txt"),
                         "--thresh", "1e-2", "--qv-thresh", "0.5", "-o", path("b.bed")])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stderr.contains("background A 0.300 C 0.200 G 0.200 T 0.300"), b.stderr)
        XCTAssertTrue(try lines(path("b.bed")).allSatisfy { Double($0[7])! <= 0.5 })
        let n = try run(["annotate", fixture("seqs.fa"), "--motifs", fixture("small.jaspar"), "--norc", "--thresh", "1e-2"])
        XCTAssertEqual(n.status, 0, n.stderr)
        XCTAssertFalse(n.stdout.isEmpty)
        XCTAssertFalse(n.stdout.contains("\t-\t"))
    }

    /// Malformed motif files: exit ≠ 0, one line naming the file, no output left behind.
    func testMalformedMotifFilesFailCleanly() throws {
        for name in ["bad-ragged.jaspar", "bad-nonnumeric.jaspar", "bad-alphabet.jaspar", "bad-empty.jaspar", "bad-rows.meme", "bad-alphabet.meme"] {
            let r = try run(["annotate", fixture("seqs.fa"), "--motifs", fixture(name), "-o", path("out.bed"), "--tsv", path("out.tsv")])
            XCTAssertNotEqual(r.status, 0, name)
            let text = r.stderr.trimmingCharacters(in: .newlines)
            XCTAssertEqual(text.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(text.contains(fixture(name)), r.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), [], name)
        }
    }

    func testUsageErrors() throws {
        let none = try run(["annotate", fixture("seqs.fa")])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("--motifs"), none.stderr)
        let nothing = try run(["annotate", "--motifs", fixture("small.jaspar")])
        XCTAssertNotEqual(nothing.status, 0)
        XCTAssertTrue(nothing.stderr.contains("-f"), nothing.stderr)
        let both = try run(["annotate", fixture("seqs.fa"), "-r", "chrA", "--motifs", fixture("small.jaspar")])
        XCTAssertNotEqual(both.status, 0)
        let ref = try copyReference()
        let badRegion = try run(["annotate", "-f", ref, "-r", "chrZ:1-10", "--motifs", fixture("small.jaspar"), "-o", path("x.bed")])
        XCTAssertNotEqual(badRegion.status, 0)
        XCTAssertTrue(badRegion.stderr.contains("chrZ"), badRegion.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.bed")))
        let badThresh = try run(["annotate", fixture("seqs.fa"), "--motifs", fixture("small.jaspar"), "--thresh", "0"])
        XCTAssertNotEqual(badThresh.status, 0)
    }
}
