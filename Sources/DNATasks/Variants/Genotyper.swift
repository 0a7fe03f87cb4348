import Foundation

/// A called variant: the allele, its genotype and Phred-scaled confidences.
public struct VariantCall: Sendable {
    public var allele: Allele
    /// Allele indices of the genotype (`[1]` haploid, `[0, 1]` / `[1, 1]` diploid).
    public var genotype: [Int]
    /// −10·log10 P(no variant), capped at `Genotyper.maxQual`.
    public var qual: Float
    /// −10·log10 P(genotype is wrong), capped at 99.
    public var genotypeQuality: Int
    public var depth: Int
    public var refCount: Int
    public var altCount: Int
    /// A rejected candidate written as a reference call (`Genotyper.refCall`).
    public var isRefCall: Bool { genotype.allSatisfy { $0 == 0 } }
}

/// Genotype decisions from the classifier's class probabilities (`0/0`, `0/1`, `1/1`).
public enum Genotyper {
    public static let maxQual: Float = 999

    static func phred(_ p: Double) -> Double { -10 * log10(max(p, 1e-100)) }

    /// Default of `call`'s `haploidMinFraction`.
    public static let haploidMinFraction = 0.5

    /// The call for one candidate, or `nil` when the reference genotype is the most likely.
    /// Haploid: P(alt) = P(0/1) + P(1/1) (a haploid sample has no heterozygous class; mass the model
    /// puts there still says "not the reference"), called when above 0.5 and when the allele is carried
    /// by at least `haploidMinFraction` of the reads: a haploid genotype is the allele of the sample's
    /// one copy, and a minority allele is the signature of reads from another copy of a repeat (or of
    /// a duplicated segment) piled onto this one. The share is taken over the reads with mapping
    /// quality above 0 when there are at least `minPlacedReads` of them: a MAPQ-0 read fits another
    /// place as well, so it says nothing about this copy's allele (bcftools weighs it 0 for the same
    /// reason). Diploid: the most likely class.
    public static func call(_ c: Candidate, probabilities p: ArraySlice<Float>, ploidy: Int,
                            haploidMinFraction: Double = Genotyper.haploidMinFraction) -> VariantCall? {
        let p0 = Double(p[p.startIndex]), p1 = Double(p[p.startIndex + 1]), p2 = Double(p[p.startIndex + 2])
        let genotype: [Int]
        let pGenotype: Double
        if ploidy == 1 {
            guard p1 + p2 > 0.5, carriesShare(c, haploidMinFraction) else { return nil }
            genotype = [1]
            pGenotype = p1 + p2
        } else {
            if p0 >= p1 && p0 >= p2 { return nil }
            genotype = p1 > p2 ? [0, 1] : [1, 1]
            pGenotype = max(p1, p2)
        }
        let qual = Float(min(phred(p0), Double(maxQual)))
        let gq = Int(min(99, phred(1 - pGenotype)).rounded())
        return VariantCall(allele: c.allele, genotype: genotype, qual: (qual * 100).rounded() / 100,
                           genotypeQuality: gq, depth: c.depth, refCount: c.refCount, altCount: c.altCount)
    }

    /// Fewest reads with MAPQ > 0 for the haploid share to be taken over them alone.
    public static let minPlacedReads = 3

    /// Whether at least `fraction` of the candidate's reads carry the allele: over the reads with
    /// MAPQ > 0 when there are `minPlacedReads` of them, else over all reads.
    static func carriesShare(_ c: Candidate, _ fraction: Double) -> Bool {
        let placedDepth = c.depth - c.depthMapq0, placedAlt = c.altCount - c.altMapq0
        if placedDepth >= minPlacedReads { return Double(placedAlt) >= fraction * Double(placedDepth) }
        return Double(c.altCount) >= fraction * Double(c.depth)
    }

    /// A reference call (`0` or `0/0`) for a candidate that `call` rejects, so that rejected
    /// candidates can be inspected (DeepVariant's RefCall records). QUAL is −10·log10 P(no variant)
    /// as for calls; GQ is −10·log10 of the probability that the reference genotype is wrong.
    public static func refCall(_ c: Candidate, probabilities p: ArraySlice<Float>, ploidy: Int) -> VariantCall {
        let p0 = Double(p[p.startIndex])
        let qual = Float(min(phred(p0), Double(maxQual)))
        return VariantCall(allele: c.allele, genotype: Array(repeating: 0, count: ploidy == 2 ? 2 : 1),
                           qual: (qual * 100).rounded() / 100, genotypeQuality: Int(min(99, phred(1 - p0)).rounded()),
                           depth: c.depth, refCount: c.refCount, altCount: c.altCount)
    }
}
