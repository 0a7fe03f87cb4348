import ArgumentParser
import DNATasks
import Foundation

/// `annotate` options for variant calling (alignments in, VCF out).
struct VariantArguments: ParsableArguments {
    @Option(name: .customLong("variant-model"), help: "Variant model directory (default: the bundled model, `variants`).")
    var variantModel: String?

    @Option(name: .long, help: "Sample ploidy: 1 (haploid) or 2 (diploid).")
    var ploidy: Int = 1

    @Option(name: .long, help: "Sample name in the VCF (default: the read groups' SM when they name one sample, else the alignment file's name).")
    var sample: String?

    @Option(name: .customLong("min-mapq"), help: "Skip reads with a lower mapping quality.")
    var minMapq: Int = 0

    @Option(name: .customLong("min-baseq"), help: "Skip bases with a lower base quality.")
    var minBaseq: Int = 13

    @Option(name: .customLong("exclude-flags"), help: "Skip reads with any of these SAM flags.")
    var excludeFlags: UInt16 = 0x704

    @Option(name: .customLong("min-alt-reads"), help: "Reads needed to make an allele a candidate.")
    var minAltReads: Int = 2

    @Option(name: .customLong("snp-fraction"), help: "Allele-fraction floor for SNP candidates.")
    var snpFraction: Double = 0.12

    @Option(name: .customLong("indel-fraction"), help: "Allele-fraction floor for indel candidates.")
    var indelFraction: Double = 0.06

    @Option(name: .customLong("low-qual"), help: "Calls with QUAL below this get FILTER LowQual.")
    var lowQual: Float = 20

    @Option(name: .customLong("haploid-min-fraction"), help: "Haploid calls need at least this share of the reads on the allele (of the MAPQ > 0 reads when there are 3 or more; at least 2/3 of all reads when only MAPQ-0 reads carry it).")
    var haploidMinFraction: Double = Genotyper.haploidMinFraction

    @Flag(name: .customLong("all-candidates"),
          help: "Also write the candidates the classifier rejects (GT 0, FILTER RefCall), for inspection.")
    var allCandidates = false

    @Flag(name: .customLong("realign"),
          help: "Realign reads locally where they show indels, soft clips or mismatch runs (use with a model trained with --realign).")
    var realign = false

    @Option(name: .customLong("haplotype-evidence"),
            help: "Which indel candidates count reads against haplotypes instead of the pileup: off, clipped (indels that reads soft-clip at), all (default for --ploidy 1; off for --ploidy 2, whose genotypes the shipped model learned from pileup counts).")
    var haplotypeEvidence: String?

    @Flag(name: .customLong("no-clip-indels"),
          help: "Take indel candidates only from CIGARs, not also from soft-clipped sequence that realigns nearby as a deletion or insertion (needs haplotype evidence).")
    var noClipIndels = false

    @Flag(name: .customLong("no-assemble"),
          help: "Take haplotypes only from candidate alleles, not also from a local de Bruijn assembly of the reads where many fit no candidate haplotype (needs haplotype evidence).")
    var noAssemble = false

    var candidates: CandidateOptions {
        var c = CandidateOptions()
        c.minAltReads = minAltReads; c.minSNPFraction = snpFraction; c.minIndelFraction = indelFraction
        c.filter.minMappingQuality = minMapq; c.filter.minBaseQuality = minBaseq
        c.filter.excludeFlags = .init(rawValue: excludeFlags)
        c.realign = realign
        c.haplotypeEvidence = haplotypeEvidence.flatMap(HaplotypeEvidenceMode.init) ?? (ploidy == 2 ? .off : .all)
        c.clipIndels = !noClipIndels
        c.assemble = !noAssemble
        return c
    }

    /// Runs variant calling with the command's shared options; exits on error.
    func run(input: String, reference: String?, regions: [String], regionsFile: String?, output: String?, threads: Int, shard: Shard? = nil) {
        guard let reference else { fail("variant calling needs the reference: -f ref.fa", code: 2) }
        guard threads >= 1, minAltReads >= 1 else { fail("--threads and --min-alt-reads must be at least 1", code: 2) }
        guard (0...1).contains(haploidMinFraction) else { fail("--haploid-min-fraction must be in [0, 1]", code: 2) }
        guard haplotypeEvidence.map({ HaplotypeEvidenceMode(rawValue: $0) != nil }) ?? true else {
            fail("--haplotype-evidence must be one of: " + HaplotypeEvidenceMode.allCases.map(\.rawValue).joined(separator: ", "), code: 2)
        }
        var o = VariantAnnotator.Options(alignments: input, reference: reference, output: output ?? "-")
        o.regions = regions; o.regionsFile = regionsFile; o.model = variantModel.map(DefaultModels.resolve); o.ploidy = ploidy
        o.threads = threads; o.sample = sample; o.lowQual = lowQual; o.haploidMinFraction = haploidMinFraction; o.candidates = candidates
        o.allCandidates = allCandidates
        o.shard = shard
        o.commandLine = CommandLine.arguments.joined(separator: " ")
        FileInfo.quietLibraryLogs()
        do {
            try VariantAnnotator.run(o) { FileHandle.standardError.write(Data("mamba-dna annotate: \($0)\n".utf8)) }
        } catch {
            fail(error)
        }
    }
}

/// `train --task variants` options.
struct VariantTrainArguments: ParsableArguments {
    @Option(name: .long, help: "variants: indexed alignment file of a sample with known truth.")
    var bam: String?

    @Option(name: .long, help: "variants: truth VCF (normalised, with GT) for --bam.")
    var truth: String?

    @Option(name: .customLong("confident-regions"), help: "variants: BED of regions where --truth is complete.")
    var confidentRegions: String?

    @Option(name: .long, help: "variants: another training set, BAM,REFERENCE,TRUTH[,BED] (repeatable).")
    var dataset: [String] = []

    @Option(name: .customLong("mlp-hidden"), help: "variants: hidden layer widths, comma-separated.")
    var mlpHidden: String = "32,32"

    @Option(name: .customLong("mlp-epochs"), help: "variants: passes over the candidates.")
    var mlpEpochs: Int = 60

    @Option(name: .customLong("mlp-lr"), help: "variants: peak learning rate.")
    var mlpLr: Float = 2e-3

    @Flag(name: .customLong("realign"), help: "variants: build candidates with local realignment.")
    var realign = false

    @Option(name: .customLong("variant-encoder"),
            help: "variants: also use this DNA encoder's embeddings around each candidate as features (a directory or a bundled name, e.g. encoder).")
    var variantEncoder: String?

    /// Trains a variant model with the command's shared options; exits on error.
    func run(reference: String?, output: String, threads: Int, seed: UInt64, force: Bool) {
        var sets: [VariantTraining.Dataset] = []
        if let bam {
            guard let reference, let truth else { fail("--task variants needs --bam, --reference and --truth", code: 2) }
            sets.append(.init(alignments: bam, reference: reference, truth: truth, confidentRegions: confidentRegions))
        }
        for d in dataset {
            let f = d.split(separator: ",").map(String.init)
            guard f.count == 3 || f.count == 4 else { fail("--dataset '\(d)': expected BAM,REFERENCE,TRUTH[,BED]", code: 2) }
            sets.append(.init(alignments: f[0], reference: f[1], truth: f[2], confidentRegions: f.count == 4 ? f[3] : nil))
        }
        guard !sets.isEmpty else { fail("--task variants needs --bam, --reference and --truth (or --dataset)", code: 2) }
        let hidden = mlpHidden.split(separator: ",").compactMap { Int($0) }
        guard !hidden.isEmpty, hidden.allSatisfy({ $0 > 0 }), mlpEpochs > 0, threads >= 1 else {
            fail("--mlp-hidden, --mlp-epochs and --threads must be positive", code: 2)
        }
        var o = VariantTraining.Options(datasets: sets, output: output)
        o.contextEncoder = variantEncoder.map(DefaultModels.resolve)
        o.candidates.realign = realign
        o.hidden = hidden; o.genotyper.epochs = mlpEpochs; o.genotyper.learningRate = mlpLr; o.seed = seed; o.threads = threads; o.force = force
        FileInfo.quietLibraryLogs()
        do {
            try VariantTraining.run(o) { FileHandle.standardError.write(Data("mamba-dna train: \($0)\n".utf8)) }
        } catch {
            fail(error)
        }
    }
}
