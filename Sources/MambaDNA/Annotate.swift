import ArgumentParser

struct Annotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call variants (VCF) and annotate motifs (BED/TSV) over alignments or a reference.")

    @Argument(help: "BAM/CRAM/SAM or FASTA input.")
    var input: String?

    func run() throws { notYetBuilt("annotate") }
}
