import Foundation
@testable import SeqIO
import XCTest
@testable import DNATasks

/// Local realignment in active windows (`LocalRealigner`), on hand-made reads over a synthetic reference.
final class LocalRealignerTests: XCTestCase {
    /// 300 bp pseudo-random reference (fixed generator), 0-based positions 0..<300.
    let ref: [UInt8] = {
        var x: UInt32 = 12345
        return (0..<300).map { _ in
            x = x &* 1_103_515_245 &+ 12345
            return Array("ACGT".utf8)[Int((x >> 16) & 3)]
        }
    }()
    /// 0-based positions of the SNP cluster.
    let snps = [100, 102, 103, 105]

    func base(_ p: Int) -> UInt8? { p >= 0 && p < ref.count ? ref[p] : nil }
    func other(_ b: UInt8) -> UInt8 { b == UInt8(ascii: "A") ? UInt8(ascii: "G") : UInt8(ascii: "A") }

    /// The sample's sequence: the reference with the four SNPs.
    var sample: [UInt8] {
        var s = ref
        for p in snps { s[p] = other(ref[p]) }
        return s
    }

    func op(_ c: Character, _ n: Int) -> CigarOperation { CigarOperation(op: c.asciiValue!, length: n) }

    func read(_ start: Int, _ length: Int, cigar: [CigarOperation], reverse: Bool = false, from seq: [UInt8]? = nil,
              queryStart: Int? = nil) -> AlignedRead {
        let s = seq ?? sample
        let q = queryStart ?? start
        return AlignedRead(position: start, cigar: cigar, sequence: Array(s[q..<(q + length)]),
                           qualities: [UInt8](repeating: 35, count: length), isReverse: reverse, mappingQuality: 60,
                           summary: ReadSummary(editDistance: 2, softClipped: 0, scoreMargin: 255, discordant: false, split: false))
    }

    /// A read of the sample over `start..<start+60` aligned the way an aligner that avoids mismatch
    /// runs does: an insertion at 100 and a deletion at 106 instead of four SNPs.
    func gapPairRead(_ start: Int, reverse: Bool = false) -> AlignedRead {
        read(start, 60, cigar: [op("M", 100 - start), op("I", 1), op("M", 5), op("D", 1), op("M", start + 60 - 106)],
             reverse: reverse)
    }

    func scanner(_ reads: [AlignedRead], realign: Bool = true) -> (CandidateScanner, [Range<Int>]) {
        var options = CandidateOptions()
        options.realign = realign
        let s = CandidateScanner(contig: 0, scanRange: 0..<300, keepRange: 0..<300, window: ref, windowStart: 0, options: options)
        let windows = LocalRealigner.activeWindows(reads, limit: 0..<300, reference: base)
        s.mask(windows)
        s.addRealigned(windows, reads: reads, minBaseQuality: 13)
        return (s, windows)
    }

    func testGapPairClusterIsRecoveredAsFourSNPs() {
        // Eight reads spanning the cluster (aligned as 1I+1D), two ending inside it with soft clips.
        var reads = (0..<8).map { gapPairRead(55 + 3 * $0, reverse: $0 % 2 == 1) }
        reads.append(read(45, 60, cigar: [op("M", 56), op("S", 4)]))          // 45..<101, then 4 clipped bases
        reads.append(read(103, 60, cigar: [op("S", 5), op("M", 55)], queryStart: 98))  // clipped 98..<103
        reads.sort { $0.position < $1.position }
        let (s, windows) = scanner(reads)
        XCTAssertEqual(windows.count, 1)
        XCTAssertTrue(windows[0].contains(100) && windows[0].contains(106), "\(windows)")
        let candidates = s.finish()
        XCTAssertEqual(candidates.filter { !$0.allele.isSNP }.map(\.allele), [], "no gap pair left")
        XCTAssertEqual(candidates.map(\.allele.position), snps)
        for c in candidates {
            XCTAssertEqual(c.allele.alt, [other(ref[c.allele.position])])
            XCTAssertEqual(c.refCount, 0)
            // Every spanning read plus the clipped read that reaches the SNP.
            XCTAssertGreaterThanOrEqual(c.altCount, 9, "\(c.allele)")
            let realigned = VariantFeatures.names.firstIndex(of: "alt_realigned_fraction")!
            XCTAssertGreaterThan(c.features[realigned], 0.5)
        }
    }

    func testWithoutEventsNothingIsRealigned() {
        // Clean reads with one SNP each at 170: no events, no windows, and a forced window
        // reproduces the original alignment.
        var s = ref
        s[170] = other(ref[170])
        let reads = (0..<6).map { read(120 + 5 * $0, 80, cigar: [op("M", 80)], from: s) }
        XCTAssertEqual(LocalRealigner.activeWindows(reads, limit: 0..<300, reference: base), [])
        let w = 150..<200
        let obs = LocalRealigner.realign(window: w, reference: Array(ref[w]), reads: reads, indices: Array(reads.indices),
                                         minBaseQuality: 13)
        XCTAssertFalse(obs.isEmpty)
        XCTAssertTrue(obs.allSatisfy { !$0.moved && $0.indel == 0 && !$0.isDeletion })
        for o in obs {
            let r = reads.first { $0.position + o.queryPosition == o.position }
            XCTAssertNotNil(r, "base stays at its aligned position")
        }
    }

    func testClusterWindowLeavesDistantColumnsAlone() {
        // A cluster at 100..<106 and a lone SNP at 250 covered by clean reads: the window stops well
        // short of 250, so those columns keep their pileup counts.
        var reads = (0..<6).map { gapPairRead(55 + 5 * $0) }
        var s = sample
        s[250] = other(ref[250])
        reads += (0..<4).map { read(200 + 5 * $0, 80, cigar: [op("M", 80)], from: s) }
        let windows = LocalRealigner.activeWindows(reads, limit: 0..<300, reference: base)
        XCTAssertEqual(windows.count, 1)
        XCTAssertLessThan(windows[0].upperBound, 200)
        XCTAssertGreaterThanOrEqual(windows[0].lowerBound, 55)
    }

    func testTrueDeletionStaysADeletion() {
        // A real 2-base deletion at 150..<152 among clean flanks is kept as the deletion.
        var s = ref
        s.removeSubrange(150..<152)
        let reads = (0..<6).map { i -> AlignedRead in
            let start = 100 + 4 * i
            return read(start, 90, cigar: [op("M", 150 - start), op("D", 2), op("M", 90 - (150 - start))], from: s)
        }
        let (scan, windows) = scanner(reads)
        XCTAssertEqual(windows.count, 1)
        let c = scan.finish()
        XCTAssertEqual(c.map(\.allele.lengthChange), [-2])
        XCTAssertEqual(c.first?.altCount, 6)
    }

    func testSubstitutionRunAlignsWithoutGaps() {
        // Five adjacent-ish substitutions in a 60-base window: the scoring keeps them as mismatches.
        let r = Array(ref[80..<140])
        var q = r
        for i in [20, 22, 23, 25, 26] { q[i] = other(q[i]) }
        XCTAssertEqual(LocalRealigner.align(q, to: r, freeStart: false, freeEnd: false),
                       (0..<60).map { .match($0) })
        // A read segment missing the window's first bases (free start) lands at its offset.
        XCTAssertEqual(LocalRealigner.align(Array(q[10...]), to: r, freeStart: true, freeEnd: false),
                       (10..<60).map { .match($0) })
    }

    func testRealignmentIsDeterministic() {
        var reads = (0..<8).map { gapPairRead(55 + 3 * $0, reverse: $0 % 2 == 1) }
        reads += (0..<3).map { gapPairRead(58 + 3 * $0) }   // same starts as others: order among them varies
        let a = scanner(reads.sorted { $0.position < $1.position }).0.finish()
        let b = scanner(reads.sorted { $0.position < $1.position || ($0.position == $1.position && $0.isReverse) }).0.finish()
        XCTAssertEqual(a.map(\.allele), b.map(\.allele))
        XCTAssertEqual(a.map(\.features), b.map(\.features))
        XCTAssertEqual(a.map(\.altCount), b.map(\.altCount))
    }
}

/// `annotate --realign` on the variant fixture (a SNP, a deletion and an insertion).
final class RealignOptionTests: XCTestCase {
    func testRealignGivesTheSameCallsOnTheFixture() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/variants")
        let args = ["annotate", fixtures.appendingPathComponent("aln.bam").path, "-f",
                    fixtures.appendingPathComponent("ref.fa").path, "-o", "-"]
        let on = try CLIRunner.run(args + ["--realign"]), off = try CLIRunner.run(args)
        XCTAssertEqual(on.status, 0, on.stderr)
        XCTAssertEqual(off.status, 0, off.stderr)
        // CHROM, POS, REF, ALT and GT. QUAL and DP may differ: at the insertion, two reads that start
        // with an inserted base are a mismatch to the pileup but an insertion's tail once realigned.
        func records(_ vcf: String) -> [[Substring]] {
            vcf.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
                let f = line.split(separator: "\t")
                return [f[0], f[1], f[3], f[4], f[9].split(separator: ":")[0]]
            }
        }
        XCTAssertEqual(records(on.stdout).count, 3)
        XCTAssertEqual(records(on.stdout), records(off.stdout))
    }
}
