import ArgumentParser
import DNATasks
import Foundation

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a sequence file, an alignment file or a model directory.",
        discussion: """
        Sequence files (FASTA/FASTQ, plain/gzip/BGZF): format, compression, records, bases, N50, GC.
        Alignment files (SAM/BAM/CRAM): format, contigs, index, records, mapped/unmapped.
        Model directories (config.json + model.safetensors): what the model is (architecture, shape, classes,
        add-ons, training, precision on this CPU); --json: its config.json as it is.
        Output is one `key<TAB>value` line per field on stdout.

        Examples:
          mamba-dna info reads.fq.gz
          zcat reads.fq.gz | mamba-dna info -
          mamba-dna info aln.cram -T ref.fa
          mamba-dna info Fixtures/models/species
          mamba-dna info --json Fixtures/models/encoder
        """)

    @Argument(help: "A sequence file, alignment file or model directory ('-' for stdin).")
    var input: String

    @Option(name: [.customLong("reference"), .customShort("T")], help: "Reference FASTA for CRAM input.")
    var reference: String?

    @Option(name: [.customLong("threads"), .customShort("@")], help: "Extra decompression threads (BGZF, CRAM).")
    var threads: Int = 0

    @Flag(name: .long, help: "For a model directory: its config.json as it is, instead of the summary.")
    var json = false

    func run() throws {
        // SeqIO reports each failure as one error; htslib's own log lines would duplicate it.
        FileInfo.quietLibraryLogs()
        do {
            let pairs = try FileInfo.describe(path: input, reference: reference, threads: threads, rawConfig: json)
            writeStandardOutput(FileInfo.render(pairs))
        } catch {
            fail("\(error)")
        }
    }
}
