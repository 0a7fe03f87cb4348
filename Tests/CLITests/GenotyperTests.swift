import XCTest
@testable import DNATasks

/// The haploid call rule and REF bases, on hand-made candidates.
final class GenotyperTests: XCTestCase {
    private func snp(depth: Int, alt: Int, depthMapq0: Int, altMapq0: Int) -> Candidate {
        Candidate(allele: Allele(contig: 0, position: 10, ref: Array("C".utf8), alt: Array("G".utf8)),
                  depth: depth, refCount: depth - alt, altCount: alt, depthMapq0: depthMapq0, altMapq0: altMapq0,
                  features: [])
    }

    private let likelyAlt: ArraySlice<Float> = [0.01, 0.04, 0.95]

    func testHaploidShareCountsOnlyPlacedReadsWhenThereAreEnough() {
        // 13 of 28 reads carry the allele (0.46), but 15 of the 16 reference reads have MAPQ 0:
        // over the 13 placed reads, 12 carry it.
        let repeatLike = snp(depth: 28, alt: 13, depthMapq0: 16, altMapq0: 1)
        XCTAssertNotNil(Genotyper.call(repeatLike, probabilities: likelyAlt, ploidy: 1))
        // The same counts with every read placed: a minority allele, no haploid call.
        let placed = snp(depth: 28, alt: 13, depthMapq0: 0, altMapq0: 0)
        XCTAssertNil(Genotyper.call(placed, probabilities: likelyAlt, ploidy: 1))
        // Minority among the placed reads although a majority over all reads: no call.
        let altInRepeat = snp(depth: 20, alt: 12, depthMapq0: 10, altMapq0: 8)
        XCTAssertNil(Genotyper.call(altInRepeat, probabilities: likelyAlt, ploidy: 1))
    }

    func testHaploidShareFallsBackToAllReadsWhenFewArePlaced() {
        // Two placed reads (fewer than minPlacedReads): the share is over all 10 reads.
        XCTAssertEqual(Genotyper.minPlacedReads, 3)
        let mostlyMapq0 = snp(depth: 10, alt: 6, depthMapq0: 8, altMapq0: 6)
        XCTAssertNotNil(Genotyper.call(mostlyMapq0, probabilities: likelyAlt, ploidy: 1))
        let minority = snp(depth: 10, alt: 4, depthMapq0: 8, altMapq0: 2)
        XCTAssertNil(Genotyper.call(minority, probabilities: likelyAlt, ploidy: 1))
    }

    func testDiploidCallsIgnoreTheShare() {
        let het = snp(depth: 28, alt: 13, depthMapq0: 0, altMapq0: 0)
        XCTAssertEqual(Genotyper.call(het, probabilities: [0.05, 0.9, 0.05], ploidy: 2)?.genotype, [0, 1])
    }

    func testReferenceBasesAreACGTOrN() {
        let bases = Array("acgtACGTKRYMSWBDHVNn-".utf8).map(IndelNormalizer.referenceBase)
        XCTAssertEqual(String(decoding: bases, as: UTF8.self), "ACGTACGTNNNNNNNNNNNNN")
    }
}
