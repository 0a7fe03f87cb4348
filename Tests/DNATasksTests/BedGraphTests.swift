import XCTest
@testable import DNATasks

/// bedGraph lines of a per-base track: bins of `resolution` bases holding their mean, equal neighbours joined.
final class BedGraphTests: XCTestCase {
    func parse(_ text: String) -> [(Int, Int, Double)] {
        text.split(separator: "\n").map { l in
            let f = l.split(separator: "\t")
            XCTAssertEqual(f[0], "c")
            return (Int(f[1])!, Int(f[2])!, Double(f[3])!)
        }
    }

    func testPerBaseJoinsEqualNeighbours() {
        let lines = parse(MotifModelAnnotator.bedGraphLines([1, 1, 2, 2, 2, 1], chrom: "c", offset: 10))
        XCTAssertEqual(lines.map(\.0), [10, 12, 15])
        XCTAssertEqual(lines.map(\.1), [12, 15, 16])
        XCTAssertEqual(lines.map(\.2), [1, 2, 1])
    }

    func testBinsHoldTheirMeanAndCoverTheTrack() {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let n = Int.random(in: 1...200, using: &g), r = Int.random(in: 1...25, using: &g)
            let track = (0..<n).map { _ in Float(Int.random(in: -40...40, using: &g)) / 8 }
            let lines = parse(MotifModelAnnotator.bedGraphLines(track, chrom: "c", offset: 5, resolution: r))
            // Contiguous, from the first base to the last.
            XCTAssertEqual(lines.first?.0, 5)
            XCTAssertEqual(lines.last?.1, 5 + n)
            for (a, b) in zip(lines, lines.dropFirst()) {
                XCTAssertEqual(a.1, b.0)
                XCTAssertNotEqual(a.2, b.2, "equal neighbours are joined")
            }
            // Every base's line value is the mean of its bin (printed to 4 decimals), and lines start at bin edges.
            for (s, e, v) in lines {
                XCTAssertEqual((s - 5) % r, 0)
                for bin in stride(from: s - 5, to: e - 5, by: r) {
                    let hi = min(bin + r, n)
                    let mean = track[bin..<hi].reduce(0.0) { $0 + Double($1) } / Double(hi - bin)
                    // Printed with 4 decimals: off by at most half a unit of the last place (ties included).
                    XCTAssertEqual(v, mean, accuracy: 0.5e-4 + 1e-9)
                }
            }
            XCTAssertLessThanOrEqual(lines.count, (n + r - 1) / r)
        }
    }
}
