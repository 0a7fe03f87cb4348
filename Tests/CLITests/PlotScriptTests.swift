import Foundation
import XCTest

/// `scripts/plot`: pictures of a region's tracks and of read embeddings, written whole or not at all.
final class PlotScriptTests: XCTestCase {
    var work: URL!
    let repo = CLIRunner.repository
    var plot: URL { repo.appendingPathComponent("scripts/plot") }

    override func setUpWithError() throws {
        let probe = try CLIRunner.launch(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", "import matplotlib, numpy"])
        guard probe.status == 0 else { throw XCTSkip("python3 with matplotlib and numpy is not installed (scripts/setup)") }
        work = FileManager.default.temporaryDirectory.appendingPathComponent("plot-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let work { try? FileManager.default.removeItem(at: work) } }

    func write(_ name: String, _ text: String) throws -> String {
        let url = work.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Width and height from a PNG's IHDR chunk, or nil when the bytes are not a PNG.
    func pngSize(_ path: String) -> (Int, Int)? {
        guard let d = FileManager.default.contents(atPath: path), d.count > 24,
              Array(d.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { return nil }
        let be = { (o: Int) in d[o..<o + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (be(16), be(20))
    }

    func testRegionWithScoresHitsAndVariants() throws {
        // Scores over chrT 800-2200 in 10-bp steps, two motif hits, and the variant fixture's truth calls.
        var bedgraph = "track type=bedGraph\n"
        for s in stride(from: 800, to: 2200, by: 10) { bedgraph += "chrT\t\(s)\t\(s + 10)\t\(sin(Double(s) / 50))\n" }
        let scores = try write("scores.bedgraph", bedgraph)
        let hits = try write("hits.bed", "#chrom\tstart\tend\tname\tscore\tstrand\nchrT\t1000\t1019\tMA0139.2\t800\t+\nchrT\t1500\t1519\tMA0139.2\t700\t-\n")
        let vcf = repo.appendingPathComponent("Fixtures/variants/truth.vcf.gz").path
        let png = work.appendingPathComponent("region.png").path
        let r = try CLIRunner.launch(plot, ["region", "--bedgraph", scores, "--bed", hits, "--vcf", vcf, "-r", "chrT:900-2100", "-o", png])
        XCTAssertEqual(r.status, 0, r.stderr)
        let (w, h) = try XCTUnwrap(pngSize(png))
        XCTAssertGreaterThan(w, h)   // a wide picture, three tracks under each other
        XCTAssertGreaterThan(h, 200)

        let svg = work.appendingPathComponent("region.svg").path
        let s = try CLIRunner.launch(plot, ["region", "--bedgraph", scores, "-o", svg])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(try String(contentsOfFile: svg, encoding: .utf8).contains("<svg"))
    }

    func testEmbeddingsPCA() throws {
        // Three classes, 20 reads each, 8 dimensions.
        var tsv = "seq_id\tlength\t" + (0..<8).map { "e\($0)" }.joined(separator: "\t") + "\n", classes = ""
        for c in 0..<3 {
            for i in 0..<20 {
                let values = (0..<8).map { d in Double(c * (d + 1)) + 0.1 * sin(Double(i * 8 + d)) }
                tsv += "r\(c)_\(i)\t150\t" + values.map { String($0) }.joined(separator: "\t") + "\n"
                classes += "r\(c)_\(i)\tclass\(c)\n"
            }
        }
        let png = work.appendingPathComponent("pca.png").path
        let r = try CLIRunner.launch(plot, ["embeddings", try write("pooled.tsv", tsv), "--classes", try write("classes.tsv", classes), "-o", png])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNotNil(pngSize(png))
    }

    func testBadInputLeavesTheOutputAlone() throws {
        let out = try write("kept.png", "earlier bytes")
        let bad = try write("bad.bedgraph", "chrT\t10\t20\tnot-a-number\n")
        for args in [["region", "--bedgraph", bad, "-o", out],
                     ["region", "--bedgraph", work.appendingPathComponent("missing.bedgraph").path, "-o", out],
                     ["embeddings", bad, "--classes", bad, "-o", out]] {
            let r = try CLIRunner.launch(plot, args)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "earlier bytes")
        }
        let good = try write("good.bedgraph", "chrT\t10\t20\t0.5\n")
        let unknownFormat = try CLIRunner.launch(plot, ["region", "--bedgraph", good, "-o", work.appendingPathComponent("x.gif").path])
        XCTAssertEqual(unknownFormat.status, 2, unknownFormat.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("x.gif").path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.contains(".tmp") }, [])
    }
}
