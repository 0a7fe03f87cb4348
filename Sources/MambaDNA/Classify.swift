import ArgumentParser

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Assign each read a class with a sequence-classification model.")

    @Argument(help: "FASTA/FASTQ/BAM input ('-' for stdin).")
    var input: String

    func run() throws { notYetBuilt("classify") }
}
