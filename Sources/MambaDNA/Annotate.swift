import ArgumentParser
import DNATasks
import Foundation

struct Annotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call variants (VCF) and annotate motifs (BED/TSV) over alignments or a reference.",
        discussion: """
        Variants (SNPs and indels from the pileup, genotyped by a classifier; VCF 4.3):
          mamba-dna annotate aln.bam -f ref.fa -r chr1:1-50000 -o calls.vcf.gz
          mamba-dna annotate aln.bam -f ref.fa -R regions.bed --ploidy 2 --variant-model variant-model -o calls.vcf
          mamba-dna annotate aln.bam -f ref.fa -R regions.bed --shard 1/4 -o part1.vcf.gz   # then: mamba-dna merge
        A .vcf.gz name gives BGZF output with a tabix index. Without --variant-model the bundled model is used.

        Motifs (PWM scan, both strands):
          mamba-dna annotate -f ref.fa -r chr1:1-2000 --motifs m.jaspar -o hits.bed --tsv hits.tsv   # or -R regions.bed
          mamba-dna annotate seqs.fa --motifs m.meme -o hits.bed
        With INPUT, every record is scanned and positions are on the record; otherwise the reference regions (default: every contig) are scanned and positions are on the reference.
        Motif files: JASPAR (headed or plain 4-row counts) or MEME minimal format. p-values are exact for the score discretised at 0.01 bit under the 0-order background; hits have p < --thresh (--threshold-rule fimo, FIMO's definition) or a score at least the highest score whose upper-tail probability reaches --thresh (--threshold-rule fpr, Biopython's threshold_fpr; it admits the best word of a short motif whose p-value is just above the rate). --pseudocount-rule spread adds --pseudocount per column spread by the background (FIMO); per-base adds it to every count (Biopython's normalize(pseudocounts=...)). Biopython's scan: --threshold-rule fpr --pseudocount-rule per-base --pseudocount 0.5.
        q-values: Benjamini-Hochberg per motif over every window tested (both strands, all sequences).
        BED6+4 (0-based, after a `#` line naming the columns): chrom start end motif_id score strand bits p_value q_value matched_sequence; score is 0-1000, min(1000, round(100 * -log10 p)), bits the log-odds score.
        TSV (1-based, FIMO columns and header): motif_id motif_alt_id sequence_name start stop strand score p-value q-value matched_sequence.

        Learned motif model (from `train --task motif`, or `ctcf`, the bundled one; per-base scores, per-sequence probability):
          mamba-dna annotate seqs.fa --motif-model ctcf -o scores.bedgraph --tsv probabilities.tsv
          mamba-dna annotate -f ref.fa -r chr1:1-2000 --motif-model ctcf --window 200 -o scores.bw   # bigWig
        bedGraph (0-based, one track): chrom start end score, the bound-minus-background logit contribution of each base (the sequence logit is their mean); with INPUT, chrom is the record name. Records are scored whole; reference regions in consecutive --window windows.
        TSV (a header line, then): sequence_name length bound_probability logit, per record or per window (chr:beg-end, 1-based).
        """)

    @Argument(help: "Sequences to scan: FASTA/FASTQ (or SAM/BAM/CRAM reads); '-' for stdin.")
    var input: String?

    @Option(name: [.customShort("f"), .customLong("reference")], help: "Indexed reference FASTA.")
    var reference: String?

    @Option(name: [.customShort("r"), .customLong("region")], help: "Reference region chr:beg-end (1-based, inclusive); repeatable.")
    var regions: [String] = []

    @Option(name: [.customShort("R"), .customLong("regions-file")], help: "BED file of reference regions.")
    var regionsFile: String?

    @Option(name: [.customShort("o"), .customLong("output")], help: "Output file (BED for motifs; bedGraph, or bigWig when it ends in .bw/.bigwig, for --motif-model; default: stdout).")
    var output: String?

    @OptionGroup(title: "Motifs")
    var motif: MotifArguments

    @OptionGroup(title: "Variants (alignment INPUT)")
    var variant: VariantArguments

    @OptionGroup(title: "Encoder (--motif-model)")
    var precision: PrecisionOption

    @Option(name: .long, help: ArgumentHelp("Only part I of N (1-based): variant calling, of the regions' 100 kb chunks; --motif-model, of the records or the reference windows (balanced by bases). Writes OUTPUT.shard.json for `merge`; needs -o FILE.", valueName: "I/N"))
    var shard: String?

    func run() throws {
        if shard != nil, motif.motifs != nil {
            fail("--shard: a motif scan is not split (its q-values span every window scanned)", code: 2)
        }
        let part: Shard?
        do { part = try shard.map { try Shard(parsing: $0) } } catch { fail(error, code: 2) }
        if let model = motif.motifModel {
            if motif.motifs != nil { fail("--motifs and --motif-model are separate annotations: give one", code: 2) }
            runMotifModel(model, shard: part)
            return
        }
        if let motifs = motif.motifs {
            runMotifs(motifs)
            return
        }
        if let input, variant.variantModel != nil || (input != "-" && VariantAnnotator.isAlignmentFile(input)) {
            variant.run(input: input, reference: reference, regions: regions, regionsFile: regionsFile,
                        output: output, threads: motif.threads, shard: part)
            return
        }
        if let input, let problem = VariantAnnotator.alignmentInputProblem(input) { fail(problem) }
        throw ValidationError("nothing to annotate: give --motifs FILE (motif scan), --motif-model DIR or an alignment file (variant calls)")
    }

    private func runMotifModel(_ model: String, shard: Shard?) {
        guard motif.threads >= 1 else { fail("--threads must be at least 1", code: 2) }
        var o = MotifModelAnnotator.Options(model: DefaultModels.resolve(model))
        o.input = input; o.reference = reference; o.regions = regions; o.regionsFile = regionsFile
        o.output = output; o.tsv = motif.tsv; o.window = motif.window; o.threads = motif.threads
        guard motif.bedGraphResolution >= 1 else { fail("--bedgraph-resolution must be at least 1", code: 2) }
        o.bedGraphResolution = motif.bedGraphResolution
        o.precision = precision.value
        o.shard = shard
        FileInfo.quietLibraryLogs()
        do {
            try MotifModelAnnotator.run(o) { FileHandle.standardError.write(Data("mamba-dna annotate: \($0)\n".utf8)) }
        } catch {
            fail(error)
        }
    }

    private func runMotifs(_ motifs: String) {
        guard motif.threads >= 1 else { fail("--threads must be at least 1", code: 2) }
        var o = MotifAnnotator.Options(motifs: motifs)
        o.input = input; o.reference = reference; o.regions = regions; o.regionsFile = regionsFile
        o.output = output; o.tsv = motif.tsv
        o.threshold = motif.thresh; o.qValueThreshold = motif.qvThresh
        o.background = motif.background; o.pseudocount = motif.pseudocount
        guard let thresholdRule = PositionWeightMatrix.ThresholdRule(rawValue: motif.thresholdRule) else {
            fail("--threshold-rule must be fimo or fpr, got '\(motif.thresholdRule)'", code: 2)
        }
        guard let pseudocountRule = PositionWeightMatrix.PseudocountRule(rawValue: motif.pseudocountRule) else {
            fail("--pseudocount-rule must be spread or per-base, got '\(motif.pseudocountRule)'", code: 2)
        }
        o.thresholdRule = thresholdRule; o.pseudocountRule = pseudocountRule
        o.bothStrands = !motif.norc; o.threads = motif.threads
        FileInfo.quietLibraryLogs()
        do {
            try MotifAnnotator.run(o) { FileHandle.standardError.write(Data("mamba-dna annotate: \($0)\n".utf8)) }
        } catch {
            fail(error)
        }
    }
}

struct MotifArguments: ParsableArguments {
    @Option(name: .long, help: "Motif file: JASPAR or MEME minimal format.")
    var motifs: String?

    @Option(name: .long, help: "p-value threshold (fimo rule) or false-positive rate (fpr rule); above 1: every window.")
    var thresh: Double = 1e-4

    @Option(name: .customLong("threshold-rule"), help: "fimo (p-value < --thresh) or fpr (score ≥ the cutoff of false-positive rate --thresh).")
    var thresholdRule: String = "fimo"

    @Option(name: .customLong("qv-thresh"), help: "Also require a q-value at most this.")
    var qvThresh: Double?

    @Option(name: .long, help: "0-order background: uniform, input (composition of the scanned sequences) or a file ('A 0.3' lines).")
    var background: String = "uniform"

    @Option(name: .long, help: "Pseudocount per matrix column (see --pseudocount-rule).")
    var pseudocount: Double = 0.1

    @Option(name: .customLong("pseudocount-rule"), help: "spread (over the bases by the background) or per-base (added to every count).")
    var pseudocountRule: String = "spread"

    @Option(name: .customLong("motif-model"), help: "Learned motif model directory (train --task motif), or `ctcf` for the bundled CTCF model: bedGraph of per-base scores.")
    var motifModel: String?

    @Option(name: .long, help: "With --motif-model on a reference: bases per scored window.")
    var window: Int = 200

    @Option(name: .customLong("bedgraph-resolution"), help: ArgumentHelp("With --motif-model: bases per bedGraph line, each the mean score of its bases (1: per base); equal neighbouring lines are joined.", valueName: "BASES"))
    var bedGraphResolution: Int = 1

    @Option(name: .long, help: "TSV output: FIMO's columns (1-based) for --motifs; per-sequence probability for --motif-model.")
    var tsv: String?

    @Flag(name: .long, help: "Scan the given strand only.")
    var norc = false

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
}
