import DNATasks
import SeqIO
import XCTest

final class ShardTests: XCTestCase {
    func testParsesIOverN() throws {
        let s = try Shard(parsing: "2/3")
        XCTAssertEqual(s.index, 2)
        XCTAssertEqual(s.count, 3)
        XCTAssertEqual(s.description, "2/3")
        for bad in ["0/3", "4/3", "a/b", "1/0", "-1/3", "2", "2/3/4", "/3", "1/", ""] {
            XCTAssertThrowsError(try Shard(parsing: bad), bad)
        }
    }

    /// The parts of any input tile its records in order, sizes within one of each other.
    func testRecordBlocksTileTheInput() throws {
        for n in 1...7 {
            for total in [0, 1, 2, 5, 6, 7, 100, 1001] {
                var next = 0
                var sizes: [Int] = []
                for i in 1...n {
                    let r = try Shard(index: i, count: n).records(total: total)
                    XCTAssertEqual(r.lowerBound, next, "\(i)/\(n) of \(total)")
                    next = r.upperBound
                    sizes.append(r.count)
                }
                XCTAssertEqual(next, total)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
            }
        }
    }

    /// Items (reference chunks) go to exactly one part each, contiguously; equal items split evenly.
    func testItemBlocksTileAndBalance() throws {
        let cases: [[Int]] = [[], [5], [100, 100, 100, 100], [100_000, 100_000, 37, 100_000, 1], [1, 1, 1, 1000, 1, 1]]
        for lengths in cases {
            for n in 1...5 {
                var next = 0
                for i in 1...n {
                    let r = try Shard(index: i, count: n).items(lengths: lengths)
                    XCTAssertEqual(r.lowerBound, next, "\(lengths) \(i)/\(n)")
                    next = r.upperBound
                }
                XCTAssertEqual(next, lengths.count, "\(lengths) /\(n)")
            }
        }
        let four = [100, 100, 100, 100]
        XCTAssertEqual(try (1...4).map { try Shard(index: $0, count: 4).items(lengths: four).count }, [1, 1, 1, 1])
        XCTAssertEqual(try (1...2).map { try Shard(index: $0, count: 2).items(lengths: four).count }, [2, 2])
    }

    /// `info --regions N`: every base of every contig in exactly one part, parts within one base of each other.
    func testRegionSplitCoversEveryBaseOnce() {
        let contigs = [Contig(name: "a", length: 1000), Contig(name: "empty", length: 0), Contig(name: "b", length: 333),
                       Contig(name: "c", length: 7)]
        let total = contigs.reduce(0) { $0 + $1.length }
        for n in [1, 2, 3, 4, 10, 1340, 1500] {
            let pieces = RegionSplit.split(contigs, parts: n)
            var covered: [String: Int] = [:]
            var partLength = [Int](repeating: 0, count: n + 1)
            var lastEnd: [String: Int] = [:]
            for p in pieces {
                XCTAssertLessThan(p.start, p.end)
                XCTAssertEqual(p.start, lastEnd[p.contig] ?? 0, "pieces of \(p.contig) follow each other")
                lastEnd[p.contig] = p.end
                covered[p.contig, default: 0] += p.end - p.start
                partLength[p.part] += p.end - p.start
            }
            for c in contigs where c.length > 0 { XCTAssertEqual(covered[c.name], c.length) }
            XCTAssertNil(covered["empty"])
            let used = Array(partLength[1...])
            XCTAssertEqual(used.reduce(0, +), total)
            XCTAssertLessThanOrEqual(used.max()! - used.min()!, 1, "n = \(n)")
            XCTAssertEqual(pieces.map(\.part), pieces.map(\.part).sorted(), "parts in order")
        }
    }
}
