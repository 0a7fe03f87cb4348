import Foundation
import XCTest
@testable import DNATasks

/// Soft-clipped read ends placed back on the reference (`SoftClipRescue`), on hand-made reads.
final class SoftClipRescueTests: XCTestCase {
    /// 60 bp reference starting at 0-based position 100.
    let ref = Array("ACGTTGCAAGCTTAGCCGATACGGATCCTAGGCTAACGTTACGATCGGCATGCAATTCCG".utf8)
    func base(_ p: Int) -> UInt8? { p >= 100 && p < 100 + ref.count ? ref[p - 100] : nil }

    func testTrailingClipWithTwoSNPsIsPlacedAfterTheAlignedPart() {
        // Aligned 20M at 110..<130, then a 10-base clip equal to ref 130..<140 but for two substitutions.
        var read = Array(ref[10..<40])
        read[22] = ref[32] == UInt8(ascii: "T") ? UInt8(ascii: "G") : UInt8(ascii: "T")
        read[25] = ref[35] == UInt8(ascii: "C") ? UInt8(ascii: "G") : UInt8(ascii: "C")
        let quals = [UInt8](repeating: 30, count: read.count)
        let placed = SoftClipRescue.place(position: 110, referenceLength: 20, leadingClip: 0, trailingClip: 10,
                                          sequence: read, qualities: quals, minBaseQuality: 13, reference: base)
        XCTAssertEqual(placed.map(\.position), Array(130..<140))
        XCTAssertEqual(placed.map(\.queryPosition), Array(20..<30))
        let mismatches = placed.filter { $0.base != base($0.position) }.map(\.position)
        XCTAssertEqual(mismatches, [132, 135])
    }

    func testLeadingClipEndsBeforeTheFirstAlignedBase() {
        // An 8-base clip, then 20M at 120: the clip covers 112..<120.
        var read = Array(ref[12..<40])
        read[3] = ref[15] == UInt8(ascii: "A") ? UInt8(ascii: "C") : UInt8(ascii: "A")
        var quals = [UInt8](repeating: 30, count: read.count)
        quals[0] = 5   // below the base-quality floor: checked for fit, not reported
        let placed = SoftClipRescue.place(position: 120, referenceLength: 20, leadingClip: 8, trailingClip: 0,
                                          sequence: read, qualities: quals, minBaseQuality: 13, reference: base)
        XCTAssertEqual(placed.map(\.position), Array(113..<120))
        XCTAssertEqual(placed.first { $0.position == 115 }?.base, read[3])
    }

    func testClipThatDoesNotFitTheReferenceIsLeftOut() {
        // Clip bases are the complement of the reference: every one mismatches.
        var read = Array(ref[10..<30])
        let complement: [UInt8: UInt8] = [65: 84, 84: 65, 67: 71, 71: 67]
        read += ref[30..<40].map { complement[$0]! }
        let quals = [UInt8](repeating: 30, count: read.count)
        XCTAssertTrue(SoftClipRescue.place(position: 110, referenceLength: 20, leadingClip: 0, trailingClip: 10,
                                           sequence: read, qualities: quals, minBaseQuality: 13, reference: base).isEmpty)
        // Too short to judge.
        XCTAssertTrue(SoftClipRescue.place(position: 110, referenceLength: 27, leadingClip: 0, trailingClip: 3,
                                           sequence: Array(ref[10..<40]), qualities: quals, minBaseQuality: 13,
                                           reference: base).isEmpty)
    }
}
