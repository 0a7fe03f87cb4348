import ArgumentParser

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a sequence file, an alignment file or a model directory.",
        discussion: """
        Sequence files (FASTA/FASTQ, plain/gzip/BGZF): format, compression, records, bases, N50, GC.
        Alignment files (SAM/BAM/CRAM): format, contigs, index, records, mapped/unmapped.
        Model directories (config.json + model.safetensors): the configuration.
        """)

    @Argument(help: "A sequence file, alignment file or model directory ('-' for stdin).")
    var input: String

    func run() throws { notYetBuilt("info") }
}
