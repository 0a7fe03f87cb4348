import ArgumentParser
import DNATasks
import Foundation

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Assign each read a class with a sequence-classification model.",
        discussion: """
        Output: TSV `read_id<TAB>label<TAB>confidence` (+ one probability column per class with --all-probs) `<TAB>reason`, one row per read in input order. Without --model, the bundled 6-species bacterial read-origin model is used.

        Confidence: the estimated probability that the label is right, on one scale whatever decided the read, from the model directory's calibration (`calibration.json`, fitted by `train --task calibrate` on labelled validation reads and random DNA). Reads below --confidence (default: the calibration's threshold, shown by `info MODEL`) are `unclassified` with reason low-confidence. A directory without a calibration, or a run that leaves out the k-mer sketch or profile its calibration was fitted with (--no-kmer-sketch, --no-kmer-profile), reports the deciding score as it is and keeps every read unless --confidence is given.

        --report FILE writes a Kraken 2 report (as `kraken2 --report`: percent of reads in the clade, clade reads, direct reads, rank code, NCBI taxid, indented name; `unclassified` first), which MultiQC and kraken-biom read as Kraken 2's; --kraken-output FILE writes Kraken 2's per-read lines (C/U, read id, taxid, length, `TAXID:LENGTH`). Taxids and lineages come from the model directory's taxonomy.tsv (the bundled models have one); without it, every class is an unranked child of the root with taxid 0.

        Reads no model should be trusted with are `unclassified`, confidence 0, with the reason: too-short (fewer than --min-length bases), ambiguous (more than half the bases not A/C/G/T: all-N reads, protein), low-complexity (more than half the bases in tandem repeats of period 1-5, by a DUST score); other reads have reason `-`. --no-screen classifies every non-empty read. Per-class counts (`class<TAB>reads<TAB>fraction`) go to stderr, or to --counts FILE.

        A model directory with a k-mer sketch (`train --task sketch`) is consulted before the model: a read whose sampled k-mers clearly point at one class gets that class from the sketch (with --all-probs, each class's share of the read's sketch hits); the model predicts the other reads. stderr says how many reads the sketch decided; --no-kmer-sketch leaves every read to the model.

        A model directory with a k-mer profile (`train --task profile`) is combined with the model for the reads the model predicts: each class scores log P_model(class) + W × (the sum of the read's word log-probabilities under the class's profile, the better of the read's two strands unless the profile was built forward-only), and the probabilities are the softmax of these scores. W is the weight stored with the profile (shown on stderr) or --profile-weight; 0, like --no-kmer-profile, leaves the model alone.

        Examples:
          mamba-dna classify reads.fa
          mamba-dna classify reads.fq.gz --all-probs -o calls.tsv --report calls.kreport
          mamba-dna classify aln.bam --model my-model --threads 8
          mamba-dna classify reads.fq.gz --shard 2/3 -o part2.tsv   # then: mamba-dna merge -o calls.tsv part*.tsv
        """)

    @Argument(help: "FASTA/FASTQ/SAM/BAM/CRAM input ('-' for stdin).")
    var input: String

    @Option(name: .long, help: "Classifier model directory, or a bundled model's name: `species` (the default) or `16s`.")
    var model: String?

    @Option(name: [.customShort("o"), .customLong("output")], help: "Output TSV (default: stdout).")
    var output: String?

    @Flag(name: .customLong("all-probs"), help: "One probability column per class.")
    var allProbs = false

    @Option(name: .long, help: ArgumentHelp("Reads whose confidence is below this are unclassified (0 to 1; default: the model's calibrated threshold, 0 without a calibration).", valueName: "T"))
    var confidence: Double?

    @Option(name: .long, help: "Write a Kraken 2 report (clade and direct reads per taxon) here.")
    var report: String?

    @Option(name: .customLong("kraken-output"), help: ArgumentHelp("Write Kraken 2 per-read lines (C/U, read id, taxid, length, TAXID:LENGTH) here.", valueName: "FILE"))
    var krakenOutput: String?

    @Option(name: .long, help: "Write the plain per-class counts (class, reads, fraction) here instead of stderr.")
    var counts: String?

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("batch-tokens"), help: "Bases per packed batch.")
    var batchTokens: Int = 8192

    @Flag(name: .customLong("no-rc-average"), help: "Predict from the read alone (not averaged with its reverse complement); no effect on caduceus-ps models, which predict the same on both strands.")
    var noRCAverage = false

    @Flag(name: .customLong("no-kmer-sketch"), help: "Ignore the model directory's k-mer sketch: the model predicts every read.")
    var noKmerSketch = false

    @Flag(name: .customLong("no-kmer-profile"), help: "Ignore the model directory's k-mer profile: the model's probabilities as they are.")
    var noKmerProfile = false

    @Option(name: .customLong("profile-weight"), help: ArgumentHelp("The k-mer profile's weight for this run (at least 0; default: the weight stored with the profile).", valueName: "W"))
    var profileWeight: Double?

    @Option(name: [.customShort("T"), .customLong("reference")], help: "Reference FASTA for CRAM input.")
    var reference: String?

    @Option(name: .customLong("min-length"), help: ArgumentHelp("Reads shorter than this are left unclassified (reason too-short).", valueName: "BASES"))
    var minLength: Int = 30

    @Flag(name: .customLong("no-screen"), help: "Classify every non-empty read: no unclassified for short, mostly non-ACGT (all-N, protein) or low-complexity reads.")
    var noScreen = false

    @OptionGroup var precision: PrecisionOption

    @OptionGroup var shard: ShardOption

    @Flag(name: [.customShort("q"), .long], help: "No progress line (shown only when stderr is a terminal).")
    var quiet = false

    func run() throws {
        guard threads >= 1 else { fail("--threads must be at least 1", code: 2) }
        guard minLength >= 1 else { fail("--min-length must be at least 1", code: 2) }
        guard batchTokens >= 1 else { fail("--batch-tokens must be at least 1", code: 2) }
        var o = ReadClassifier.Options(input: input)
        o.modelDirectory = model.map(DefaultModels.resolve); o.output = output; o.allProbabilities = allProbs; o.report = report
        o.krakenOutput = krakenOutput; o.counts = counts
        o.threads = threads; o.batchTokens = batchTokens; o.reference = reference; o.precision = precision.value
        o.shard = shard.value
        if let c = confidence, !(0...1).contains(c) { fail("--confidence must be between 0 and 1", code: 2) }
        o.confidence = confidence
        if noScreen { o.screen = nil } else { o.screen?.minLength = minLength }
        if noRCAverage { o.rcAverage = false }
        o.useKmerSketch = !noKmerSketch
        o.useKmerProfile = !noKmerProfile; o.profileWeight = profileWeight
        if let w = profileWeight, !(w >= 0) || !w.isFinite { fail("--profile-weight must be a finite number of at least 0", code: 2) }
        if noKmerProfile && profileWeight != nil { fail("--profile-weight and --no-kmer-profile exclude each other", code: 2) }
        FileInfo.quietLibraryLogs()
        let progress = ProgressLine(command: "classify", unit: "reads", quiet: quiet)
        o.progress = { progress.update(records: $0, bases: $1) }
        do {
            try ReadClassifier.run(o) {
                progress.finish()
                FileHandle.standardError.write(Data("mamba-dna classify: \($0)\n".utf8))
            }
            progress.finish()
        } catch {
            progress.finish()
            fail(error)
        }
    }
}
