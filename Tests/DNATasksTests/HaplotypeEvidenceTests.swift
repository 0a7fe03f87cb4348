import Foundation
@testable import SeqIO
import XCTest
@testable import DNATasks

/// Reads assigned to the reference or an indel haplotype (`HaplotypeEvidence`), on hand-made reads
/// around a 20-base deletion.
final class HaplotypeEvidenceTests: XCTestCase {
    /// 400 reference bases from 0-based position 1000 (a fixed pseudo-random sequence, no repeats to speak of).
    let start = 1000
    lazy var ref: [UInt8] = {
        var x: UInt32 = 12345
        return (0..<400).map { _ in
            x = x &* 1_103_515_245 &+ 12345
            return Array("ACGT".utf8)[Int((x >> 16) & 3)]
        }
    }()
    /// Deletes the 20 bases after 0-based position 1150.
    lazy var deletion = Allele(contig: 0, position: 1150, ref: Array(ref[150...170]), alt: [ref[150]])
    /// The deletion haplotype's bases, indexed like the reference up to the event.
    lazy var alt: [UInt8] = Array(ref[...150]) + Array(ref[171...])
    lazy var haps = HaplotypeEvidence.Haplotypes(start: start, reference: ref, alleles: [deletion])

    func read(_ bases: ArraySlice<UInt8>, leftStart: Int, rightEnd: Int, quality: UInt8 = 30) -> HaplotypeEvidence.Read {
        HaplotypeEvidence.Read(sequence: Array(bases), qualities: [UInt8](repeating: quality, count: bases.count),
                               leftStart: leftStart, rightEnd: rightEnd)
    }

    func testReadSoftClippedAtTheDeletionCountsForTheAlternateHaplotype() {
        // Alt-haplotype bases 90..<190 aligned 61M39S at 1090: the clip holds the bases after the deletion.
        let trailing = read(alt[90..<190], leftStart: 1090, rightEnd: 1151 + 39)
        XCTAssertEqual(HaplotypeEvidence.assign(trailing, to: haps), 1)
        // The same from the other side: 31S69M at 1171 (the clip holds the bases before the deletion).
        let leading = read(alt[120..<220], leftStart: 1171 - 31, rightEnd: 1171 + 69)
        XCTAssertEqual(HaplotypeEvidence.assign(leading, to: haps), 1)
        // Through `AlignedRead`, as the scanner builds it.
        let aligned = AlignedRead(position: 1090, cigar: [CigarOperation(op: UInt8(ascii: "M"), length: 61),
                                                          CigarOperation(op: UInt8(ascii: "S"), length: 39)],
                                  sequence: Array(alt[90..<190]), qualities: [UInt8](repeating: 30, count: 100),
                                  isReverse: false, mappingQuality: 60, summary: ReadSummary(editDistance: 0, softClipped: 39,
                                  scoreMargin: ReadSummary.noMargin, discordant: false, split: false))
        XCTAssertEqual(HaplotypeEvidence.assign(HaplotypeEvidence.Read(aligned), to: haps), 1)
    }

    func testReadSpanningTheDeletionInItsCigarCountsForTheAlternateHaplotype() {
        // 51M20D49M at 1100.
        let r = read(alt[100..<200], leftStart: 1100, rightEnd: 1100 + 120)
        XCTAssertEqual(HaplotypeEvidence.assign(r, to: haps), 1)
    }

    func testReferenceReadCountsForTheReference() {
        let r = read(ref[100..<200], leftStart: 1100, rightEnd: 1200)
        XCTAssertEqual(HaplotypeEvidence.assign(r, to: haps), 0)
        // Also when the aligner clipped its end (a clip that fits the reference).
        let clipped = read(ref[120..<220], leftStart: 1120, rightEnd: 1220, quality: 35)
        XCTAssertEqual(HaplotypeEvidence.assign(clipped, to: haps), 0)
    }

    func testReadThatEndsBeforeTheEventCountsForNeither() {
        // Ends at the anchor base: both haplotypes hold it unchanged.
        let r = read(ref[51..<151], leftStart: 1051, rightEnd: 1151)
        XCTAssertNil(HaplotypeEvidence.assign(r, to: haps))
        // Entering the deleted bases by one low-quality base is not enough either.
        var bases = Array(ref[52..<152])
        bases[99] = alt[151]
        var q = [UInt8](repeating: 30, count: 100)
        q[99] = 8
        let weak = HaplotypeEvidence.Read(sequence: bases, qualities: q, leftStart: 1052, rightEnd: 1152)
        if bases[99] != ref[151] { XCTAssertNil(HaplotypeEvidence.assign(weak, to: haps)) }
    }

    func testSequencingErrorsDoNotMoveAReadOffItsHaplotype() {
        var bases = Array(alt[90..<190])
        for i in [5, 40, 80] { bases[i] = bases[i] == UInt8(ascii: "A") ? UInt8(ascii: "C") : UInt8(ascii: "A") }
        let r = read(bases[...], leftStart: 1090, rightEnd: 1151 + 39)
        XCTAssertEqual(HaplotypeEvidence.assign(r, to: haps), 1)
    }

    func testCompetingAllelesAndBadInput() {
        // A 10-base deletion at the same anchor competes: reads of the 20-base deletion stay with theirs.
        let short = Allele(contig: 0, position: 1150, ref: Array(ref[150...160]), alt: [ref[150]])
        let both = HaplotypeEvidence.Haplotypes(start: start, reference: ref, alleles: [deletion, short])
        XCTAssertEqual(HaplotypeEvidence.assign(read(alt[100..<200], leftStart: 1100, rightEnd: 1220), to: both), 1)
        let shortHap = Array(ref[...150]) + Array(ref[161...])
        XCTAssertEqual(HaplotypeEvidence.assign(read(shortHap[100..<200], leftStart: 1100, rightEnd: 1210), to: both), 2)
        // All-N reference: nothing to tell the haplotypes apart.
        let n = [UInt8](repeating: UInt8(ascii: "N"), count: 400)
        let nHaps = HaplotypeEvidence.Haplotypes(start: start, reference: n, alleles: [
            Allele(contig: 0, position: 1150, ref: Array(n[150...170]), alt: [n[150]])])
        XCTAssertNil(HaplotypeEvidence.assign(read(alt[90..<190], leftStart: 1090, rightEnd: 1190), to: nHaps))
        // Quality 0 and missing (0xFF) qualities, an empty read, and anchors far apart (a spliced read).
        let q0 = HaplotypeEvidence.Read(sequence: Array(alt[90..<190]), qualities: [UInt8](repeating: 0, count: 100),
                                        leftStart: 1090, rightEnd: 1190)
        XCTAssertNotEqual(HaplotypeEvidence.assign(q0, to: haps), 0)
        let missing = HaplotypeEvidence.Read(sequence: Array(alt[90..<190]), qualities: [UInt8](repeating: 0xFF, count: 100),
                                             leftStart: 1090, rightEnd: 1190)
        XCTAssertEqual(HaplotypeEvidence.assign(missing, to: haps), 1)
        XCTAssertNil(HaplotypeEvidence.assign(HaplotypeEvidence.Read(sequence: [], qualities: [], leftStart: 1100, rightEnd: 1100), to: haps))
        XCTAssertNil(HaplotypeEvidence.assign(read(ref[100..<200], leftStart: 1100, rightEnd: 1300), to: haps))
        // An allele outside the window is dropped rather than applied.
        let outside = HaplotypeEvidence.Haplotypes(start: start, reference: ref, alleles: [
            Allele(contig: 0, position: 1395, ref: Array(ref[395...399]) + [65], alt: [ref[395]])])
        XCTAssertEqual(outside.sequences.count, 1)
    }

    func testReadWithTwoNearbyInsertionsSupportsEach() {
        // Insertions of one base after 1200 and after 1206: a read carrying both fits neither
        // one-allele haplotype, but the haplotype with both.
        let i1 = Allele(contig: 0, position: 1200, ref: [ref[200]], alt: [ref[200], UInt8(ascii: "T")])
        let i2 = Allele(contig: 0, position: 1206, ref: [ref[206]], alt: [ref[206], UInt8(ascii: "T")])
        let sample = Array(ref[...200]) + [UInt8(ascii: "T")] + Array(ref[201...206]) + [UInt8(ascii: "T")] + Array(ref[207...])
        let r = read(sample[150..<250], leftStart: 1150, rightEnd: 1248)
        let first = HaplotypeEvidence.Haplotypes(start: start, reference: ref, alleles: [i1, i2])
        XCTAssertEqual(first.sequences.count, 4)
        XCTAssertEqual(HaplotypeEvidence.support(r, first), .allele)
        let second = HaplotypeEvidence.Haplotypes(start: start, reference: ref, alleles: [i2, i1])
        XCTAssertEqual(HaplotypeEvidence.support(r, second), .allele)
        // A reference read is against both; one with only the first insertion is against the second.
        XCTAssertEqual(HaplotypeEvidence.support(read(ref[150..<250], leftStart: 1150, rightEnd: 1250), second), .against)
        let only1 = Array(ref[...200]) + [UInt8(ascii: "T")] + Array(ref[201...])
        XCTAssertEqual(HaplotypeEvidence.support(read(only1[150..<250], leftStart: 1150, rightEnd: 1249), second), .against)
        XCTAssertEqual(HaplotypeEvidence.support(read(only1[150..<250], leftStart: 1150, rightEnd: 1249), first), .allele)
    }

    func testClipThatFitsNoHaplotypeCountsForNeither() {
        // A read clipped at a breakpoint: 60 aligned bases, then 40 bases of unrelated sequence that happen to
        // start like the deleted bases' replacement. Its best fit costs far more than its own alignment's edits.
        var bases = Array(alt[90..<153])
        var x: UInt32 = 777
        while bases.count < 100 { x = x &* 1_103_515_245 &+ 12345; bases.append(Array("ACGT".utf8)[Int((x >> 16) & 3)]) }
        var r = read(bases[...], leftStart: 1090, rightEnd: 1190)
        r.maxCost = 60   // NM 0: what `Read(AlignedRead)` sets for a read whose aligned part has no edits
        XCTAssertNil(HaplotypeEvidence.assign(r, to: haps))
        XCTAssertEqual(HaplotypeEvidence.support(r, haps), .misfit)
        // The true deletion read passes the same bound.
        var good = read(alt[90..<190], leftStart: 1090, rightEnd: 1190)
        good.maxCost = 60
        XCTAssertEqual(HaplotypeEvidence.support(good, haps), .allele)
    }
}
