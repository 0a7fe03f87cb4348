import SeqIO

/// Which pileup sites become candidate alleles, and which reads and bases count.
///
/// An allele is a candidate when at least `minAltReads` filtered reads carry it and its allele
/// fraction (supporting reads / filtered depth at its position) reaches `minSNPFraction` for SNPs or
/// `minIndelFraction` for indels. The floors are DeepVariant's (0.12 / 0.06): low enough that
/// heterozygous sites at low depth are kept, and the classifier, not the floor, decides.
public struct CandidateOptions: Sendable {
    public var minAltReads = 2
    public var minSNPFraction = 0.12
    public var minIndelFraction = 0.06
    /// The sample's ploidy (1 or 2). The classifier reads it as a feature: an allele fraction of 0.5
    /// is a heterozygous call in a diploid sample but an artefact (e.g. a collapsed repeat) in a haploid one.
    public var ploidy = 1
    /// Realign reads locally in active windows (`LocalRealigner`) before counting columns, so runs
    /// of SNPs that the aligner wrote as gap pairs or soft clips are counted as SNPs. Off by default: on a
    /// held-out K. pneumoniae validation pair it left SNP F1 level and lowered indel F1.
    public var realign = false
    /// Which indel candidates get their read counts from haplotype comparison (`HaplotypeEvidence`)
    /// instead of the pileup.
    public var haplotypeEvidence: HaplotypeEvidenceMode = .all
    /// Also take indel candidates from soft-clipped sequence (`ClippedIndels`) where no read, or one,
    /// carries them in its CIGAR. Needs haplotype evidence (their reads are counted against haplotypes).
    public var clipIndels = true
    /// Also take haplotypes and alleles from a local de Bruijn assembly of active regions' reads
    /// (`LocalAssembly`). Needs haplotype evidence. On the validation pair it raised indel F1 from 0.9709 to
    /// 0.9758 for about 3 % more CPU time.
    public var assemble = true
    /// Read and base filters. Unlike `samtools mpileup`, improperly paired reads are kept: in
    /// diverged segments mates often map discordantly, and their MAPQ is a feature anyway.
    public var filter: PileupFilter = {
        var f = PileupFilter()
        f.includeAnomalousPairs = true
        f.minMappingQuality = 0
        f.minBaseQuality = 13
        f.maxDepth = 2_000
        return f
    }()

    public init() {}
}

/// Which indel candidates `annotate` counts against haplotypes (`HaplotypeEvidence`).
public enum HaplotypeEvidenceMode: String, Sendable, CaseIterable {
    /// Pileup counts only.
    case off
    /// Indels that reads soft-clip at (a clip of at least 5 bases ending within 10 bases of the event).
    case clipped
    /// Every indel candidate.
    case all
}

/// One candidate allele with the pileup evidence the classifier sees.
public struct Candidate: Sendable {
    public var allele: Allele
    /// Filtered reads at the allele's (anchor) position.
    public var depth: Int
    /// Reads showing the reference there (for indels: the anchor base with no indel after it).
    public var refCount: Int
    /// Reads supporting this allele.
    public var altCount: Int
    /// Reads with mapping quality 0 among `depth` and among `altCount` (`Genotyper.call`'s haploid rule).
    public var depthMapq0 = 0
    public var altMapq0 = 0
    /// `VariantFeatures.names`, in order, then `ContextEmbedding.names` when an encoder is used.
    public var features: [Float]
}
