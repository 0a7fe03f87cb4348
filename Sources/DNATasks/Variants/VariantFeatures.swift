import Foundation

/// The per-candidate feature vector the classifier reads. Counts enter as log1p, fractions as they
/// are, qualities scaled to about [0, 1]; the model also standardises each feature with the
/// training set's mean and spread.
///
/// Besides the pileup column, whole-read evidence of the reads supporting the allele and of the
/// reference reads (`ReadEvidence`): their other edits (NM less the candidate's own), soft clipping,
/// near-equal second hits (bwa XS), discordant pairs, split alignments and low MAPQ. Reads that belong
/// to another copy of a repeat or to a diverged segment carry such marks; reads with a real variant
/// mostly do not. Last, the share of the allele's reads and of the column's reads that are soft-clipped
/// bases placed back on the reference (`SoftClipRescue`), and the share that local realignment
/// placed differently from the aligner (`LocalRealigner`; zero with realignment off).
public enum VariantFeatures {
    public static let names = [
        "is_indel", "is_insertion", "indel_length_log",
        "depth_log", "alt_log", "ref_log", "depth_relative",
        "alt_fraction", "ref_fraction", "other_fraction",
        "alt_forward_fraction", "ref_forward_fraction", "strand_bias", "alt_both_strands",
        "alt_base_quality", "ref_base_quality", "alt_mapq", "ref_mapq", "alt_mapq0_fraction", "mapq0_fraction",
        "alt_end_distance", "ref_end_distance",
        "mismatch_density_10", "mismatch_density_50", "variant_like_sites_50",
        "homopolymer", "tandem_repeat_span", "event_repeat_copies", "gc_50",
        "diploid",
        "alt_other_edits", "alt_clipped_fraction", "alt_second_hit_fraction", "alt_discordant_fraction",
        "alt_split_fraction", "alt_low_mapq_fraction",
        "ref_other_edits", "ref_clipped_fraction", "ref_second_hit_fraction", "ref_discordant_fraction",
        "ref_split_fraction", "ref_low_mapq_fraction",
        "alt_rescued_fraction", "rescued_fraction",
        "alt_realigned_fraction", "realigned_fraction",
    ]

    public static var count: Int { names.count }

    static func compute(allele: Allele, evidence ev: AlleleEvidence, column ci: Int, stats: ColumnStats,
                        medianDepth: Float, readLength: Int, scanner: CandidateScanner,
                        haplotype hc: HaplotypeCounts? = nil) -> [Float] {
        // Pileup counts; with haplotype evidence (`HaplotypeEvidence`) the allele's and the reference's
        // read counts, shares and strands come from the haplotype assignment instead, while per-base
        // means (base quality, read-end distance) stay those of the pileup reads they were summed over.
        let pileupAlt = Float(ev.count), pileupRef = Float(stats.refReads[ci])
        let depth = Float(max(Int(stats.depth[ci]), ev.count, hc?.informative ?? 0))
        let alt = hc.map { Float($0.alt) } ?? pileupAlt
        let ref = hc.map { Float($0.ref) } ?? pileupRef
        let shareDepth = hc.map { Float(max(1, $0.informative)) } ?? depth
        let refFwd = Float(stats.refForward[ci])
        let half = Float(max(1, readLength / 2))
        let forward = hc?.forward ?? ev.forward, reverse = hc?.reverse ?? ev.reverse
        let altFwdFrac = Float(forward) / max(alt, 1)
        let refFwdFrac = pileupRef > 0 ? refFwd / pileupRef : 0.5
        let altMapqSum = hc?.mapqSum ?? ev.mapqSum, altMapq0 = hc?.altMapq0 ?? ev.mapq0
        let position = allele.position
        let indel = !allele.isSNP
        let change = allele.lengthChange
        // The event's bases (inserted or deleted), for repeat context.
        let event: [UInt8] = change > 0 ? Array(allele.alt.dropFirst()) : change < 0 ? Array(allele.ref.dropFirst()) : allele.alt

        func base(_ p: Int) -> UInt8? { scanner.refBase(p) }
        func run(_ p: Int) -> Int {
            guard let b = base(p) else { return 0 }
            var l = p, r = p
            while let x = base(l - 1), x == b, p - l < 50 { l -= 1 }
            while let x = base(r + 1), x == b, r - p < 50 { r += 1 }
            return r - l + 1
        }
        let homopolymer = indel ? run(position + 1) : max(run(position - 1), run(position + 1))
        // Longest span right of the anchor made of copies of one unit of 1–6 bases.
        var strSpan = 0
        for unit in 1...6 {
            var copies = 1
            while copies < 40, (0..<unit).allSatisfy({ base(position + 1 + copies * unit + $0) == base(position + 1 + $0) && base(position + 1 + $0) != nil }) {
                copies += 1
            }
            if copies >= 2 { strSpan = max(strSpan, copies * unit) }
        }
        var eventCopies = 0
        if indel && !event.isEmpty {
            var p = position + 1
            while eventCopies < 40, (0..<event.count).allSatisfy({ base(p + $0) == event[$0] }) {
                eventCopies += 1; p += event.count
            }
        }
        var gc: Float = 0, n: Float = 0
        for p in (position - 25)...(position + 25) {
            guard let b = base(p) else { continue }
            n += 1
            if b == UInt8(ascii: "G") || b == UInt8(ascii: "C") { gc += 1 }
        }
        return [
            indel ? 1 : 0, change > 0 ? 1 : 0, log1p(Float(abs(change))),
            log1p(depth), log1p(alt), log1p(ref), medianDepth > 0 ? min(depth / medianDepth, 5) : 1,
            alt / shareDepth, ref / shareDepth, max(0, shareDepth - alt - ref) / shareDepth,
            altFwdFrac, refFwdFrac, abs(altFwdFrac - refFwdFrac), forward > 0 && reverse > 0 ? 1 : 0,
            ev.qualSum / max(pileupAlt, 1) / 40, pileupRef > 0 ? stats.refQualSum[ci] / pileupRef / 40 : 0,
            altMapqSum / max(alt, 1) / 60, pileupRef > 0 ? stats.refMapqSum[ci] / pileupRef / 60 : 0,
            Float(altMapq0) / max(alt, 1), Float(stats.mapq0[ci]) / depth,
            ev.endDistanceSum / max(pileupAlt, 1) / half, pileupRef > 0 ? stats.refEndDistanceSum[ci] / pileupRef / half : 0,
            stats.mismatchDensity(around: position, radius: 10), stats.mismatchDensity(around: position, radius: 50),
            log1p(Float(stats.variantLikeSites(around: position, radius: 50))),
            log1p(Float(homopolymer)), log1p(Float(strSpan)), log1p(Float(eventCopies)), n > 0 ? gc / n : 0.5,
            scanner.options.ploidy == 2 ? 1 : 0,
        ] + ev.reads.features + stats.refReadEvidence[ci].features
            + [Float(ev.rescued) / max(alt, 1), Float(stats.rescued[ci]) / depth,
               Float(ev.realigned) / max(alt, 1), Float(stats.realigned[ci]) / depth]
    }
}
