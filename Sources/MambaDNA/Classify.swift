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

        Read pairs (`classify R1 R2 --paired`, FASTA/FASTQ, plain or gzip, not stdin): the two files are read in lockstep and each pair gets one decision and one row, named as its mates are once a trailing /1 or /2 is removed (mates whose names differ there, or one file ending first, stop the run with an error and no output). The k-mer sketch decides on the sum of both mates' hits, as Kraken 2 pools a pair's k-mers; otherwise the model scores each mate as a read and the pair's probabilities are the mean of the mates' (a mixture: one mate in a region the model gets wrong cannot veto the other, and a pair of agreeing mates keeps the probability a read gets); the k-mer profile adds the sum of both mates' word scores. A mate the screen would set aside adds no evidence; the pair is set aside (with the first mate's reason) only when both are. The confidence comes from the same calibration, fed the pair's pooled hits and combined length. --kraken-output writes `L1|L2` lengths and `TAXID:L1 |:| TAXID:L2`, and --report, --counts and --shard count pairs, as `kraken2 --paired` does.

        Examples:
          mamba-dna classify reads.fa
          mamba-dna classify reads.fq.gz --all-probs -o calls.tsv --report calls.kreport
          mamba-dna classify aln.bam --model my-model --threads 8
          mamba-dna classify reads_1.fq.gz reads_2.fq.gz --paired -o pairs.tsv --kraken-output pairs.kraken
          mamba-dna classify reads.fq.gz --shard 2/3 -o part2.tsv   # then: mamba-dna merge -o calls.tsv part*.tsv
        """)

    @Argument(help: ArgumentHelp("FASTA/FASTQ/SAM/BAM/CRAM input ('-' for stdin); with --paired, the two mates' FASTA/FASTQ files.", valueName: "input"))
    var inputs: [String]

    @Flag(name: .long, help: "The two inputs are read pairs (R1 R2, in lockstep): one decision and one row per pair.")
    var paired = false

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
        if paired {
            guard inputs.count == 2 else { fail("--paired takes exactly two inputs (the R1 and R2 files), got \(inputs.count)", code: 2) }
            guard !inputs.contains("-") else { fail("--paired reads two files in lockstep: stdin ('-') cannot be a mate file", code: 2) }
        } else if inputs.count != 1 {
            fail("classify takes one input, or two read-pair files with --paired (got \(inputs.count) inputs)", code: 2)
        }
        var o = ReadClassifier.Options(input: inputs[0])
        if paired { o.mate2 = inputs[1] }
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
        let progress = ProgressLine(command: "classify", unit: paired ? "pairs" : "reads", quiet: quiet)
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
