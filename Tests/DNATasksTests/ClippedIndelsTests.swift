import Foundation
@testable import SeqIO
import XCTest
@testable import DNATasks

/// Indel candidates suggested by soft-clipped sequence alone (`ClippedIndels`), on hand-made reads whose
/// CIGARs never hold the event: a 20-base deletion and an 18-base insertion are found, placed, and their
/// clipped reads counted for them by haplotype evidence; clips of unrelated sequence suggest nothing.
final class ClippedIndelsTests: XCTestCase {
    /// 400 reference bases from 0-based position 1000 (a fixed pseudo-random sequence).
    let start = 1000
    static func random(_ n: Int, seed: UInt32) -> [UInt8] {
        var x = seed
        return (0..<n).map { _ in
            x = x &* 1_103_515_245 &+ 12345
            return Array("ACGT".utf8)[Int((x >> 16) & 3)]
        }
    }
    lazy var ref = Self.random(400, seed: 12345)
    /// 18 bases inserted after 0-based position 1250.
    lazy var inserted = Self.random(18, seed: 999)
    /// The sample with the 20 bases after 1150 deleted (indexed like the reference up to the event).
    lazy var deletionSample: [UInt8] = Array(ref[...150]) + Array(ref[171...])
    /// The sample with `inserted` after 1250.
    lazy var insertionSample: [UInt8] = Array(ref[...250]) + inserted + Array(ref[251...])

    func op(_ c: Character, _ n: Int) -> CigarOperation { CigarOperation(op: c.asciiValue!, length: n) }

    /// A read of `sample[from..<from + 100]` aligned at `position` with the given CIGAR.
    func read(_ sample: [UInt8], from: Int, position: Int, cigar: [CigarOperation], reverse: Bool = false) -> AlignedRead {
        let clip = cigar.filter { $0.op == UInt8(ascii: "S") }.reduce(0) { $0 + $1.length }
        return AlignedRead(position: position, cigar: cigar, sequence: Array(sample[from..<(from + 100)]),
                           qualities: [UInt8](repeating: 35, count: 100), isReverse: reverse, mappingQuality: 60,
                           summary: ReadSummary(editDistance: 0, softClipped: clip, scoreMargin: ReadSummary.noMargin,
                                                discordant: false, split: false))
    }

    /// Reads of the deletion sample that end within 8–20 bases past the event, so the aligner clipped them
    /// there: trailing clips (aligned part ends at 1151) and leading clips (aligned part starts at 1171).
    func deletionReads() -> [AlignedRead] {
        var reads: [AlignedRead] = []
        for (k, clip) in [9, 12, 16, 19].enumerated() {
            // Sample bases from s: the first 151 − s are the reference up to the anchor, then `clip` bases after the deletion.
            let s = 151 + clip - 100
            reads.append(read(deletionSample, from: s, position: start + s, cigar: [op("M", 100 - clip), op("S", clip)],
                              reverse: k % 2 == 1))
        }
        for (k, clip) in [10, 14, 18].enumerated() {
            // Leading clip: `clip` sample bases before the deletion point, then aligned from 1171.
            let s = 151 - clip
            reads.append(read(deletionSample, from: s, position: start + 171, cigar: [op("S", clip), op("M", 100 - clip)],
                              reverse: k % 2 == 0))
        }
        return reads
    }

    func insertionReads() -> [AlignedRead] {
        var reads: [AlignedRead] = []
        for (k, anchor) in [9, 13, 17].enumerated() {
            // Aligned up to 1250, then the 18 inserted bases and `anchor` reference bases, clipped.
            let clip = 18 + anchor
            let s = 251 - (100 - clip)
            reads.append(read(insertionSample, from: s, position: start + s, cigar: [op("M", 100 - clip), op("S", clip)],
                              reverse: k % 2 == 1))
        }
        for (k, anchor) in [10, 15].enumerated() {
            // `anchor` reference bases before the insertion and the inserted bases clipped; aligned from 1251.
            let clip = 18 + anchor
            let s = 251 - anchor
            reads.append(read(insertionSample, from: s, position: start + 251, cigar: [op("S", clip), op("M", 100 - clip)],
                              reverse: k % 2 == 0))
        }
        return reads
    }

    func scanner() -> CandidateScanner {
        CandidateScanner(contig: 0, scanRange: start..<(start + 400), keepRange: start..<(start + 400), window: ref,
                         windowStart: start, options: CandidateOptions())
    }

    /// Fills the scanner's columns with the reads' aligned bases as reference observations (what the
    /// pileup shows for reads that clip at an event instead of spanning it).
    func cover(_ s: CandidateScanner, _ reads: [AlignedRead]) {
        for r in reads {
            for p in r.position..<r.referenceEnd {
                guard let i = s.columns.index(p) else { continue }
                s.columns.depth[i] += 1
                s.columns.refReads[i] += 1
            }
        }
    }

    /// Runs the scanner's clip pass over `reads` as `CandidateGenerator` does, and returns its candidates.
    func candidates(_ reads: [AlignedRead]) -> (sites: [Allele], candidates: [Candidate]) {
        let s = scanner()
        cover(s, reads)
        s.prepareHaplotypeSites()
        for r in reads { s.collect(r); s.noteClips(r) }
        let sites = s.addClipSites()
        for r in reads { s.collectForNewSites(r) }
        return (sites, s.finish())
    }

    func testDeletionOfTwentyBasesFromClipsOnly() {
        let deletion = Allele(contig: 0, position: 1150, ref: Array(ref[150...170]), alt: [ref[150]])
        let reads = deletionReads()
        // Each clip on its own says where the event is and what it is.
        for r in reads {
            XCTAssertEqual(ClippedIndels.alleles(r, contig: 0, minBaseQuality: 13, window: ref, windowStart: start), [deletion])
        }
        // Two reference reads over the event.
        let refReads = [read(ref, from: 100, position: 1100, cigar: [op("M", 100)]),
                        read(ref, from: 120, position: 1120, cigar: [op("M", 100)], reverse: true)]
        let (sites, found) = candidates(reads + refReads)
        XCTAssertEqual(sites, [deletion])
        XCTAssertEqual(found.map(\.allele), [deletion])
        // Haplotype evidence puts every clipped read on the deletion and the reference reads against it.
        XCTAssertEqual(found.first?.altCount, reads.count)
        XCTAssertEqual(found.first?.refCount, 2)
        XCTAssertEqual(found.first?.depth, reads.count + 2)
    }

    func testInsertionOfEighteenBasesFromClipsOnly() {
        // The inserted bases end with the two reference bases before the insertion point ("TA"), so the
        // allele is left-normalised two bases back, as the pileup's indels are.
        XCTAssertEqual(Array(inserted.suffix(2)), Array(ref[249...250]))
        let insertion = Allele(contig: 0, position: 1248, ref: [ref[248]], alt: [ref[248]] + Array(ref[249...250]) + inserted.prefix(16))
        let reads = insertionReads()
        for r in reads {
            XCTAssertEqual(ClippedIndels.alleles(r, contig: 0, minBaseQuality: 13, window: ref, windowStart: start), [insertion])
        }
        let (sites, found) = candidates(reads)
        XCTAssertEqual(sites, [insertion])
        XCTAssertEqual(found.map(\.allele), [insertion])
        XCTAssertEqual(found.first?.altCount, reads.count)
        XCTAssertEqual(found.first?.refCount, 0)
    }

    func testClipsOfUnrelatedSequenceSuggestNothing() {
        // Three reads aligned up to 1200 whose last 30 bases are adapter-like random sequence.
        let junk = Self.random(30, seed: 4242)
        let reads = (0..<3).map { k -> AlignedRead in
            let sample = Array(ref[...200]) + junk + Array(ref[201...])
            return read(sample, from: 131, position: start + 131, cigar: [op("M", 70), op("S", 30)], reverse: k == 1)
        }
        for r in reads {
            XCTAssertEqual(ClippedIndels.alleles(r, contig: 0, minBaseQuality: 13, window: ref, windowStart: start), [])
        }
        let (sites, found) = candidates(reads)
        XCTAssertEqual(sites, [])
        XCTAssertEqual(found.map(\.allele), [])
    }

    func testClipThatFitsUngappedOrIsTooShortSuggestsNothing() {
        // A clip of reference bases (a run of SNPs would be SoftClipRescue's) and a 6-base clip past the deletion.
        let fitting = read(ref, from: 100, position: 1100, cigar: [op("M", 80), op("S", 20)])
        XCTAssertEqual(ClippedIndels.alleles(fitting, contig: 0, minBaseQuality: 13, window: ref, windowStart: start), [])
        let short = read(deletionSample, from: 57, position: 1057, cigar: [op("M", 94), op("S", 6)])
        XCTAssertEqual(ClippedIndels.alleles(short, contig: 0, minBaseQuality: 13, window: ref, windowStart: start), [])
        // One read's clip alone is not a candidate.
        let (sites, _) = candidates([deletionReads()[0]])
        XCTAssertEqual(sites, [])
        // Nor with clip indels switched off.
        var options = CandidateOptions()
        options.clipIndels = false
        let off = CandidateScanner(contig: 0, scanRange: start..<(start + 400), keepRange: start..<(start + 400), window: ref,
                                   windowStart: start, options: options)
        for r in deletionReads() { off.noteClips(r) }
        XCTAssertEqual(off.addClipSites(), [])
    }
}
