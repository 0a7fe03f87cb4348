import ArgumentParser
import DNATasks
import Foundation

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a sequence file, an alignment file or a model directory.",
        discussion: """
        Sequence files (FASTA/FASTQ, plain/gzip/BGZF): format, compression, records, bases, N50, GC.
        Alignment files (SAM/BAM/CRAM): format, contigs, index, records, mapped/unmapped.
        Model directories (config.json + model.safetensors): what the model is (architecture, shape, classes, add-ons, training, precision on this CPU); --json: its config.json as it is.
        Output is one `key<TAB>value` line per field on stdout.
        --regions N: instead, an indexed FASTA's or an alignment file's contigs cut into N parts of nearly equal length, as BED (`contig start end part_I`; a part spanning contigs has several lines), for `annotate -R FILE --shard I/N`.

        Examples:
          mamba-dna info reads.fq.gz
          zcat reads.fq.gz | mamba-dna info -
          mamba-dna info aln.cram -T ref.fa
          mamba-dna info species
          mamba-dna info --json encoder
          mamba-dna info --regions 8 ref.fa > regions.bed
        """)

    @Argument(help: "A sequence file, alignment file or model directory (or a bundled model's name: species, 16s, encoder, ctcf, variants); '-' for stdin.")
    var input: String

    @Option(name: [.customLong("reference"), .customShort("T")], help: "Reference FASTA for CRAM input.")
    var reference: String?

    @Option(name: [.customLong("threads"), .customShort("@")], help: "Extra decompression threads (BGZF, CRAM).")
    var threads: Int = 0

    @Flag(name: .long, help: "For a model directory: its config.json as it is, instead of the summary.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Cut the contigs of an indexed FASTA or alignment file into N parts of nearly equal length (BED).", valueName: "N"))
    var regions: Int?

    func run() throws {
        // SeqIO reports each failure as one error; htslib's own log lines would duplicate it.
        FileInfo.quietLibraryLogs()
        if let n = regions {
            guard n >= 1 else { fail("--regions must be at least 1", code: 2) }
            do {
                writeStandardOutput(RegionSplit.bed(RegionSplit.split(try RegionSplit.contigs(of: input, reference: reference), parts: n)))
            } catch {
                fail(error)
            }
            return
        }
        do {
            let pairs = try FileInfo.describe(path: DefaultModels.resolve(input), reference: reference, threads: threads, rawConfig: json)
            writeStandardOutput(FileInfo.render(pairs))
        } catch {
            fail(error)
        }
    }
}
