import ArgumentParser

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-base or pooled embeddings from a Mamba or Caduceus model.")

    @Argument(help: "FASTA/FASTQ/BAM input ('-' for stdin).")
    var input: String

    func run() throws { notYetBuilt("embed") }
}
