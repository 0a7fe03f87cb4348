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
    /// A second alternate allele of the same record, written on `allele.ref` (a diploid `1/2` call,
    /// `Genotyper.mergeSites`), and the reads supporting it.
    public var secondAlt: [UInt8]? = nil
    public var secondAltCount = 0
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
    /// reason). An allele that only MAPQ-0 reads carry needs `unplacedMinFraction` of all reads: its reads fit
    /// every copy of the repeat alike, so an allele most copies' reads carry (real repeats are kept alike by gene
    /// conversion) is in this one too, while a share near 1/copies says one copy has it, and which one is unknown
    /// (VariantCalling.md has the figures). Diploid: the most likely class.
    /// With `calibration`, QUAL is the calibrated one (`QualCalibration`).
    public static func call(_ c: Candidate, probabilities p: ArraySlice<Float>, ploidy: Int,
                            haploidMinFraction: Double = Genotyper.haploidMinFraction,
                            calibration: QualCalibration? = nil) -> VariantCall? {
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
        var qual = (Float(min(phred(p0), Double(maxQual))) * 100).rounded() / 100
        if let calibration { qual = calibration.qual(raw: qual, altCount: c.altCount, refCount: c.refCount, depth: c.depth) }
        let gq = Int(min(99, phred(1 - pGenotype)).rounded())
        return VariantCall(allele: c.allele, genotype: genotype, qual: qual,
                           genotypeQuality: gq, depth: c.depth, refCount: c.refCount, altCount: c.altCount)
    }

    /// Share of all reads that an allele carried only by MAPQ-0 reads needs (haploid): above the ≈ 1/2 of one
    /// copy of a two-copy repeat, reached where most copies carry it.
    public static let unplacedMinFraction = 2.0 / 3.0

    /// Fewest reads with MAPQ > 0 for the haploid share to be taken over them alone.
    public static let minPlacedReads = 3

    /// Whether at least `fraction` of the candidate's reads carry the allele: over the reads with
    /// MAPQ > 0 when there are `minPlacedReads` of them, else over all reads; at least `unplacedMinFraction` of
    /// all reads when no read with MAPQ > 0 carries it.
    static func carriesShare(_ c: Candidate, _ fraction: Double) -> Bool {
        let placedDepth = c.depth - c.depthMapq0, placedAlt = c.altCount - c.altMapq0
        if placedDepth >= minPlacedReads { return Double(placedAlt) >= fraction * Double(placedDepth) }
        let share = placedAlt > 0 ? fraction : Swift.max(fraction, unplacedMinFraction)
        return Double(c.altCount) >= share * Double(c.depth)
    }

    /// One record per site: where several alleles at one position are called (the classifier sees
    /// each allele alone), a diploid sample gets one record of the two best supported (highest QUAL,
    /// then most reads) with genotype `1/2`, as a sample carrying two different alleles there has; a
    /// haploid sample keeps the best one. The `1/2` record's QUAL is the better of the two (the site
    /// is variant if either allele is), its GQ the worse; REF is the longer REF and the other allele's
    /// ALT is extended by the REF bases it lacks. Reference calls pass through. `calls` must be
    /// sorted (`Allele`'s order), as the output is.
    public static func mergeSites(_ calls: [VariantCall], ploidy: Int) -> [VariantCall] {
        var out: [VariantCall] = []
        out.reserveCapacity(calls.count)
        var i = calls.startIndex
        while i < calls.endIndex {
            var j = i + 1
            while j < calls.endIndex, calls[j].allele.contig == calls[i].allele.contig,
                  calls[j].allele.position == calls[i].allele.position { j += 1 }
            let site = calls[i..<j]
            let called = site.filter { !$0.isRefCall }
                .sorted { ($0.qual, $0.altCount) > ($1.qual, $1.altCount) }
            if called.count < 2 {
                out += site
            } else {
                var keep = called[0]
                if ploidy == 2 { keep = pair(called[0], called[1]) }
                out += (site.filter(\.isRefCall) + [keep]).sorted { $0.allele < $1.allele }
            }
            i = j
        }
        return out
    }

    /// The `1/2` record of two alleles called at one position.
    static func pair(_ a: VariantCall, _ b: VariantCall) -> VariantCall {
        let ref = a.allele.ref.count >= b.allele.ref.count ? a.allele.ref : b.allele.ref
        func onRef(_ x: Allele) -> [UInt8] { x.alt + ref[x.ref.count...] }
        var merged = a
        merged.allele = Allele(contig: a.allele.contig, position: a.allele.position, ref: ref, alt: onRef(a.allele))
        let second = onRef(b.allele)
        guard second != merged.allele.alt else { return a }
        merged.secondAlt = second
        merged.secondAltCount = b.altCount
        merged.genotype = [1, 2]
        merged.qual = max(a.qual, b.qual)
        merged.genotypeQuality = min(a.genotypeQuality, b.genotypeQuality)
        merged.depth = max(a.depth, b.depth)
        merged.refCount = min(a.refCount, b.refCount)
        return merged
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
