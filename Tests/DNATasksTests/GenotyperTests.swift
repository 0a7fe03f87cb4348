import XCTest
@testable import DNATasks
import SeqIO

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
        // Two placed reads (fewer than minPlacedReads), one of them on the allele: the share is over all 10 reads.
        XCTAssertEqual(Genotyper.minPlacedReads, 3)
        let mostlyMapq0 = snp(depth: 10, alt: 6, depthMapq0: 8, altMapq0: 5)
        XCTAssertNotNil(Genotyper.call(mostlyMapq0, probabilities: likelyAlt, ploidy: 1))
        let minority = snp(depth: 10, alt: 4, depthMapq0: 8, altMapq0: 2)
        XCTAssertNil(Genotyper.call(minority, probabilities: likelyAlt, ploidy: 1))
    }

    func testAlleleOnlyOnMapq0ReadsNeedsMostOfAllReads() {
        // Every read MAPQ 0, 12 of 22 carry the allele (0.55): one copy of a two-copy repeat, place unknown.
        let oneCopy = snp(depth: 22, alt: 12, depthMapq0: 22, altMapq0: 12)
        XCTAssertNil(Genotyper.call(oneCopy, probabilities: likelyAlt, ploidy: 1))
        // The same with 20 of 22 (0.91): the copies all carry it, so this one does.
        let allCopies = snp(depth: 22, alt: 20, depthMapq0: 22, altMapq0: 20)
        XCTAssertNotNil(Genotyper.call(allCopies, probabilities: likelyAlt, ploidy: 1))
        // The bound is the named one, on both sides of it.
        let n = 30, atBound = Int((Genotyper.unplacedMinFraction * Double(n)).rounded(.up))
        XCTAssertNotNil(Genotyper.call(snp(depth: n, alt: atBound, depthMapq0: n, altMapq0: atBound),
                                       probabilities: likelyAlt, ploidy: 1))
        XCTAssertNil(Genotyper.call(snp(depth: n, alt: atBound - 1, depthMapq0: n, altMapq0: atBound - 1),
                                    probabilities: likelyAlt, ploidy: 1))
        // One placed read on the allele (two placed reads in all): the haploid share over all reads applies.
        let onePlaced = snp(depth: 22, alt: 12, depthMapq0: 20, altMapq0: 11)
        XCTAssertNotNil(Genotyper.call(onePlaced, probabilities: likelyAlt, ploidy: 1))
    }

    func testDiploidCallsIgnoreTheShare() {
        let het = snp(depth: 28, alt: 13, depthMapq0: 0, altMapq0: 0)
        XCTAssertEqual(Genotyper.call(het, probabilities: [0.05, 0.9, 0.05], ploidy: 2)?.genotype, [0, 1])
    }

    private func call(_ position: Int, _ ref: String, _ alt: String, qual: Float, alt reads: Int,
                      genotype: [Int] = [0, 1]) -> VariantCall {
        VariantCall(allele: Allele(contig: 0, position: position, ref: Array(ref.utf8), alt: Array(alt.utf8)),
                    genotype: genotype, qual: qual, genotypeQuality: Int(qual), depth: 20, refCount: 1, altCount: reads)
    }

    func testTwoAllelesCalledAtOneSiteBecomeOneRecord() {
        let calls = [call(10, "C", "G", qual: 20, alt: 9), call(10, "C", "T", qual: 30, alt: 10),
                     call(10, "C", "A", qual: 5, alt: 2, genotype: [0, 0]), call(40, "A", "G", qual: 50, alt: 19, genotype: [1, 1])]
        let diploid = Genotyper.mergeSites(calls, ploidy: 2)
        XCTAssertEqual(diploid.count, 3)
        XCTAssertTrue(diploid[0].isRefCall)                      // C>A passes through, sorted first
        let site = diploid[1]
        XCTAssertEqual(site.genotype, [1, 2])
        XCTAssertEqual(String(decoding: site.allele.alt, as: UTF8.self), "T")    // higher QUAL first
        XCTAssertEqual(site.secondAlt.map { String(decoding: $0, as: UTF8.self) }, "G")
        XCTAssertEqual(site.qual, 30)
        XCTAssertEqual(site.genotypeQuality, 20)
        XCTAssertEqual([site.refCount, site.altCount, site.secondAltCount], [1, 10, 9])
        XCTAssertEqual(diploid[2].allele.position, 40)
        // Haploid: one allele per site, the best.
        let haploid = Genotyper.mergeSites(calls, ploidy: 1).filter { !$0.isRefCall }
        XCTAssertEqual(haploid.map { String(decoding: $0.allele.alt, as: UTF8.self) }, ["T", "G"])
        XCTAssertNil(haploid[0].secondAlt)
    }

    func testDeletionAndSNPAtOneSiteShareTheLongerREF() {
        let merged = Genotyper.mergeSites([call(5, "CTT", "C", qual: 40, alt: 10), call(5, "C", "G", qual: 35, alt: 9)], ploidy: 2)
        XCTAssertEqual(merged.count, 1)
        XCTAssertEqual(String(decoding: merged[0].allele.ref, as: UTF8.self), "CTT")
        XCTAssertEqual(String(decoding: merged[0].allele.alt, as: UTF8.self), "C")
        XCTAssertEqual(merged[0].secondAlt.map { String(decoding: $0, as: UTF8.self) }, "GTT")
        let record = VCFWriter.record(merged[0], contigs: [Contig(name: "chrA", length: 100)], lowQual: 20)
        XCTAssertEqual(record.alts, ["C", "GTT"])
        XCTAssertEqual(record.genotypes, [[1, 2]])
        XCTAssertTrue(record.info.contains { $0.key == "INDEL" })
    }

    func testReferenceBasesAreACGTOrN() {
        let bases = Array("acgtACGTKRYMSWBDHVNn-".utf8).map(IndelNormalizer.referenceBase)
        XCTAssertEqual(String(decoding: bases, as: UTF8.self), "ACGTACGTNNNNNNNNNNNNN")
    }
}
