import ArgumentParser
import DNATasks
import Foundation

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-base or pooled embeddings from a Mamba or Caduceus model.",
        discussion: """
        TSV output: `seq_id<TAB>position<TAB>e0…` with one row per base (1-based positions; for a FASTA region, reference coordinates), or with --pool `seq_id<TAB>length<TAB>e0…` with one row per sequence.
        RCPS Caduceus models give 2·d_model values per base (forward | reverse-complement strand).
        Alignment input: primary reads, as sequenced. -r needs an indexed BAM/CRAM (.bai/.csi/.crai) or FASTA (.fai).

        Examples:
          mamba-dna embed --model encoder reads.fa -o emb.tsv
          mamba-dna embed --model encoder --pool mean reads.fq.gz -o pooled.tsv
          mamba-dna embed --model encoder -r chr1:1-500 ref.fa --format safetensors -o region.safetensors
          mamba-dna embed --model encoder --pool mean reads.fa --format npy -o pooled.npy
          mamba-dna embed --model caduceus-ps-dir reads.fa -o emb.tsv   # a Hub checkpoint downloaded to a folder
        """)

    @Option(name: .long, help: "Model directory (config.json + model.safetensors), or `encoder` for the bundled pretrained encoder.")
    var model: String

    @Flag(name: .customLong("per-base"), help: "One row per base (the default).")
    var perBase = false

    @Option(name: .long, help: "Pool each sequence: mean, max, first or last.")
    var pool: String?

    @Option(name: [.customShort("r"), .customLong("region")], help: "Region (chr, chr:beg, chr:beg-end; 1-based).")
    var region: String?

    @Option(name: [.customShort("o"), .customLong("output")], help: "Output file (default: stdout).")
    var output: String?

    @Option(name: .long, help: "Output format: tsv, safetensors, or npy (NumPy float32 array, with OUTPUT.rows.tsv naming its rows).")
    var format: String = "tsv"

    @Option(name: .long, help: "Threads for the matrix products and kernels (default: all cores).")
    var threads: Int?

    @Option(name: [.customShort("T"), .customLong("reference")], help: "Reference FASTA for CRAM input.")
    var reference: String?

    @OptionGroup var precision: PrecisionOption

    @OptionGroup var shard: ShardOption

    @Flag(name: [.customShort("q"), .long], help: "No progress line (shown only when stderr is a terminal).")
    var quiet = false

    @Argument(help: "FASTA/FASTQ/SAM/BAM/CRAM input ('-' for stdin).")
    var input: String

    func run() throws {
        if perBase && pool != nil { fail("--per-base and --pool exclude each other", code: 2) }
        var o = EmbeddingExport.Options(modelDirectory: DefaultModels.resolve(model), input: input)
        if let pool {
            guard let p = EmbeddingExport.Pooling(rawValue: pool) else { fail("--pool must be mean, max, first or last", code: 2) }
            o.pooling = p
        }
        guard let f = EmbeddingExport.Format(rawValue: format) else { fail("--format must be tsv, safetensors or npy", code: 2) }
        let threads = self.threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads >= 1 else { fail("--threads must be at least 1", code: 2) }
        o.format = f
        o.region = region
        o.output = output
        o.threads = threads
        o.reference = reference
        o.precision = precision.value
        o.shard = shard.value
        FileInfo.quietLibraryLogs()
        let progress = ProgressLine(command: "embed", unit: "sequences", quiet: quiet)
        o.progress = { progress.update(records: $0, bases: $1) }
        do {
            try EmbeddingExport.run(o) {
                progress.finish()
                FileHandle.standardError.write(Data("mamba-dna: \($0)\n".utf8))
            }
            progress.finish()
        } catch {
            progress.finish()
            fail(error)
        }
    }
}
