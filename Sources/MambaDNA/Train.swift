import ArgumentParser
import DNATasks
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model (masked-LM pretraining or classification) on your own data.",
        discussion: """
        --task classify: labelled reads (FASTA/FASTQ/BAM) in, a classifier model directory out (config.json + model.safetensors + tokenizer files + training_summary.json), which `classify` loads.
        Labels come from the header (`label=NAME`, or `KEY=NAME` with --label-key KEY) or from a TSV (`read_id<TAB>label`, --labels). A share of the reads (--val-fraction) is held out for validation and early stopping: random reads, or with --val-group-key whole groups (e.g. genera), so that validation measures accuracy on groups the model has not seen. Reads longer than --max-length are validated on up to 5 evenly spaced windows of that length.
        With --kmer-sketch, the model directory also gets a k-mer sketch of the training reads (see --task sketch). Progress goes to stderr. Results are deterministic for a given --seed.
        The encoder is Mamba unless --arch or the --init checkpoint says Caduceus. A Caduceus-PS classifier averages its two strands before the head, so a read and its reverse complement get the same prediction.

        --task motif: bound and background sequences (two classes, labelled as for classify; the bound class is --bound-label, default `1` for 0/1 labels, else `bound`) in, a motif model directory out (a classifier that names its bound class), which `annotate --motif-model` loads.

        --task mlm: unlabelled reads in, a masked-LM model directory out (Caduceus-PS by default, see --arch), which `embed --model` loads and `--task classify --init` fine-tunes:
        BERT-style masking of 15% of the bases, loss on the masked bases only.

        --task variants: an alignment, its reference and a truth VCF in, a variant model directory out (see the Variants options), which `annotate --variant-model` loads.

        --task sketch: labelled reads (as for classify) and a classifier directory (--init) in, a copy of that directory with an exact k-mer memory of the reads (a k-mer index, kmer_index.sketch.safetensors) out. `classify` consults it first: a read whose sampled k-mers clearly point at one class (see the K-mer sketch options) gets that class without running the model. Every read's label must be one of the classifier's classes.

        --task profile: labelled sequences (as for classify) and a classifier directory (--init) in, a copy of that directory (its k-mer sketch, if any, kept) with a naive Bayes k-mer profile of the sequences (a k-mer index, kmer_index.profile.safetensors, as in the RDP classifier) out. For each class it stores log P(word|class) = log((n + P_w) / (N_c + 1)) for every word of --profile-k bases: N_c sequences of the class, n of them containing the word, P_w = (sequences containing it + 0.5) / (all sequences + 1). `classify` adds --profile-weight × a read's summed word log-probabilities to the model's log-probabilities (see classify --help).

        --task calibrate: labelled validation reads (as for classify; reads the classifier was not trained on) and a classifier directory (--init) in, a copy of that directory with calibration.json out: per read path (k-mer sketch, model), a logistic model of whether the label is right, fitted on the reads and on --random-reads random DNA reads (never right), and the default confidence threshold (see classify --help).

        Examples:
          mamba-dna train --task classify reads.fa --label-key species -o species-model
          mamba-dna train --task classify reads.fq.gz --labels labels.tsv --steps 200 --threads 2 -o my-model
          mamba-dna train --task mlm genome-reads.fa --steps 200 --threads 2 -o pretrained
          mamba-dna train --task classify reads.fa --label-key species --init pretrained --steps 200 -o tuned
          mamba-dna train --task variants --bam aln.bam --reference ref.fa --truth truth.vcf.gz -o variant-model
          mamba-dna train --task sketch reads.fa --label-key species --init species-model -o sketched
          mamba-dna train --task profile refs.fa --label-key species --init species-model -o profiled
          mamba-dna train --task calibrate validation.fa --label-key species --init species-model -o calibrated
        """)

    @Option(name: .long, help: "calibrate, classify, mlm, motif, profile, sketch or variants.")
    var task: String = "classify"

    @Argument(help: "Labelled FASTA/FASTQ/SAM/BAM/CRAM input files.")
    var inputs: [String] = []

    @Option(name: [.customShort("o"), .customLong("output")], help: "Output model directory.")
    var output: String

    @Option(name: .customLong("label-key"), help: "Header key holding the label (KEY=NAME).")
    var labelKey: String = "label"

    @Option(name: .long, help: "Two-column TSV read_id<TAB>label (instead of header labels).")
    var labels: String?

    @Option(name: .customLong("init"), help: "Start from this encoder: a Mamba or Caduceus checkpoint (`train --task mlm` output, a Hugging Face caduceus directory) or a classifier directory; --task sketch, profile and calibrate: the classifier directory to extend. A bundled model's name (species, 16s, encoder, ctcf) stands for its directory.")
    var initFrom: String?

    @Option(name: .long, help: ArgumentHelp("Encoder: mamba (causal), caduceus-ps (bidirectional, reverse-complement equivariant) or caduceus-ph (bidirectional). Default: mamba for classify/motif, caduceus-ps for mlm; with --init, that of the checkpoint.", valueName: "mamba|caduceus-ps|caduceus-ph"))
    var arch: String?

    @Option(name: .customLong("d-model"), help: "Model width (default 64).") var dModel: Int?
    @Option(name: .long, help: "Number of Mamba blocks (default 4).") var layers: Int?
    @Option(name: .customLong("d-state"), help: "SSM state size (default 16).") var dState: Int?
    @Option(name: .long, help: "Inner expansion factor (default 2).") var expand: Int?

    @Option(name: .long, help: "Passes over the training reads.") var epochs: Double = 3
    @Option(name: .long, help: "Optimiser steps (overrides --epochs).") var steps: Int?
    @Option(name: .customLong("batch-tokens"), help: "Bases per optimiser step.") var batchTokens: Int = 16384
    @Option(name: .customLong("max-length"), help: "Longer reads are trained on a random window of this length (and validated on up to 5 evenly spaced ones).")
    var maxLength: Int = 4096
    @Option(name: .long, help: "Peak learning rate.") var lr: Float = 2e-3
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay.") var weightDecay: Float = 0.05
    @Option(name: .customLong("warmup-steps"), help: "Warm-up steps (default 5% of the steps, at most 500).")
    var warmupSteps: Int?
    @Option(name: .long, help: "Random seed (init, split, shuffling, augmentation).") var seed: UInt64 = 1
    @Option(name: .long, help: "Worker threads.") var threads: Int = 1
    @Option(name: .long, help: "Gradient shards per batch (results depend on this, not on --threads).")
    var shards: Int = 4
    @Option(name: .customLong("val-fraction"), help: "Share of the reads held out for validation.")
    var valFraction: Double = 0.05
    @Option(name: .customLong("val-max"), help: "At most this many validation reads (or windows of long reads).") var valMax: Int = 6000
    @Option(name: .customLong("val-group-key"), help: ArgumentHelp("classify/motif: hold out whole groups for validation, by the header's KEY=VALUE (e.g. genus): a seeded choice of groups holding about --val-fraction of each class's reads; every read needs the key.", valueName: "KEY"))
    var valGroupKey: String?
    @Option(name: .customLong("eval-every"), help: "Validate every N steps (default: 4 times per epoch).")
    var evalEvery: Int?
    @Option(name: .long, help: "Stop after N validations without improvement.") var patience: Int = 4
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N steps (0: never).")
    var checkpointEvery: Int = 0
    @Option(name: .customLong("checkpoint-dir"), help: "Checkpoint directory (default OUTDIR.checkpoint).")
    var checkpointDir: String?
    @Flag(name: .long, help: "Continue from the checkpoint directory.") var resume = false
    @Flag(name: .customLong("no-rc-augment"), help: "Train on reads as given (no random reverse complement).")
    var noRCAugment = false
    @Option(name: .customLong("substitution-rate"), help: ArgumentHelp("classify/motif: replace each training base by another random base with this probability, drawn anew every step (augmentation; validation and prediction see the reads as they are).", valueName: "P"))
    var substitutionRate: Double = 0
    @Option(name: .customLong("indel-rate"), help: ArgumentHelp("classify/motif: a 1-base insertion or deletion at each training base with this probability (augmentation, as --substitution-rate).", valueName: "P"))
    var indelRate: Double = 0
    @Flag(name: .customLong("no-rc-average"), help: "Predict from the read alone, not averaged with its reverse complement (caduceus-ps predicts the same on both strands without it).")
    var noRCAverage = false
    @Flag(name: .long, help: "Replace an existing output directory.") var force = false
    @Option(name: [.customShort("T"), .customLong("reference")], help: "Reference FASTA for CRAM input.")
    var reference: String?

    @Option(name: .long, help: ArgumentHelp("classify/motif: pooling over a read's positions: mean (of the embeddings), or max or logsumexp (of the per-position logits).", valueName: "mean|max|logsumexp"))
    var pool: String?

    @Option(name: .customLong("bound-label"), help: "--task motif: the class that means bound.")
    var boundLabel: String?

    @OptionGroup(title: "Masked LM (--task mlm)")
    var mlm: MaskedLMTrainArguments

    @OptionGroup(title: "K-mer sketch (--task sketch, or --task classify --kmer-sketch)")
    var sketch: KmerSketchTrainArguments

    @OptionGroup(title: "K-mer profile (--task profile)")
    var profile: KmerProfileTrainArguments

    @OptionGroup(title: "Variants (--task variants)")
    var variant: VariantTrainArguments

    @OptionGroup(title: "Confidence calibration (--task calibrate)")
    var calibrate: CalibrateTrainArguments

    func run() throws {
        // A bundled model's name stands for its directory.
        let initFrom = self.initFrom.map(DefaultModels.resolve)
        if task != "classify" && task != "motif" && (valGroupKey != nil || substitutionRate != 0 || indelRate != 0) {
            fail("--val-group-key, --substitution-rate and --indel-rate apply to --task classify and motif only", code: 2)
        }
        let classifierSketch = sketch.classifierSketch(task: task)
        if task == "variants" {
            variant.run(reference: reference, output: output, threads: threads, seed: seed, force: force)
            return
        }
        if task == "sketch" {
            sketch.run(inputs: inputs, output: output, initFrom: initFrom, labelKey: labelKey, labelsFile: labels,
                       reference: reference, threads: threads, force: force)
            return
        }
        if task == "calibrate" {
            calibrate.run(inputs: inputs, output: output, initFrom: initFrom, labelKey: labelKey, labelsFile: labels,
                          reference: reference, threads: threads, seed: seed, force: force)
            return
        }
        if task == "profile" {
            profile.run(inputs: inputs, output: output, initFrom: initFrom, labelKey: labelKey, labelsFile: labels,
                        reference: reference, force: force)
            return
        }
        guard task == "classify" || task == "motif" || task == "mlm" else {
            fail("--task must be calibrate, classify, mlm, motif, profile, sketch or variants", code: 2)
        }
        for (name, v) in [("--threads", threads), ("--batch-tokens", batchTokens), ("--max-length", maxLength),
                          ("--patience", patience), ("--shards", shards)] where v < 1 {
            fail("\(name) must be at least 1", code: 2)
        }
        guard epochs > 0, steps.map({ $0 > 0 }) ?? true else { fail("--epochs and --steps must be positive", code: 2) }
        guard (0..<1).contains(valFraction) else { fail("--val-fraction must be in [0, 1)", code: 2) }
        guard lr > 0 else { fail("--lr must be positive", code: 2) }
        guard (0..<1).contains(substitutionRate), (0..<1).contains(indelRate) else {
            fail("--substitution-rate and --indel-rate must be in [0, 1)", code: 2)
        }
        if valGroupKey != nil && valFraction == 0 { fail("--val-group-key needs a --val-fraction above 0", code: 2) }
        var architecture: EncoderArchitecture?
        if let arch {
            guard let a = EncoderArchitecture(rawValue: arch) else {
                fail("--arch must be one of " + EncoderArchitecture.allCases.map(\.rawValue).joined(separator: ", "), code: 2)
            }
            architecture = a
        }
        if resume && checkpointEvery == 0 && checkpointDir == nil {
            fail("--resume needs --checkpoint-every N (or --checkpoint-dir DIR)", code: 2)
        }
        var o = ClassifierTraining.Options(inputs: inputs, output: output)
        o.labelKey = labelKey; o.labelsFile = labels; o.initFrom = initFrom; o.architecture = architecture
        o.dModel = dModel; o.layers = layers; o.dState = dState; o.expand = expand
        o.validationFraction = valFraction; o.validationMax = valMax; o.force = force || resume
        o.validationGroupKey = valGroupKey
        o.rcAverage = !noRCAverage; o.reference = reference; o.kmerSketch = classifierSketch
        if let pool, !o.setPooling(named: pool) { fail("--pool must be mean, max or logsumexp", code: 2) }
        var t = o.training
        t.epochs = epochs; t.steps = steps; t.batchTokens = batchTokens; t.maxLength = maxLength
        t.learningRate = lr; t.weightDecay = weightDecay; t.warmupSteps = warmupSteps; t.seed = seed
        t.threads = threads; t.shards = shards; t.evalEvery = evalEvery; t.patience = patience
        t.checkpointEvery = checkpointEvery; t.checkpointDirectory = checkpointDir; t.resume = resume
        t.reverseComplement = !noRCAugment
        t.substitutionRate = substitutionRate; t.indelRate = indelRate
        if resume && checkpointEvery == 0 { t.checkpointEvery = Int.max }
        o.training = t
        if task == "mlm" {
            var m = MaskedLMTraining.Options(inputs: inputs, output: output)
            m.initFrom = initFrom; m.architecture = architecture; m.dModel = dModel; m.layers = layers; m.dState = dState; m.expand = expand
            m.validationFraction = valFraction; m.validationMax = valMax; m.force = force || resume
            m.reference = reference; m.training = t
            mlm.run(&m)
            return
        }
        if task == "motif" {
            let bound = boundLabel
            o.extraConfig = { try MotifModel.trainingConfig(labels: $0, bound: bound) }
        }
        FileInfo.quietLibraryLogs()
        do {
            try ClassifierTraining.run(o) { FileHandle.standardError.write(Data("mamba-dna train: \($0)\n".utf8)) }
        } catch {
            fail(error)
        }
    }
}
