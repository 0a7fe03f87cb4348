import ArgumentParser
import DNATasks
import Foundation

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join the outputs of `--shard I/N` runs into the output of one run.",
        discussion: """
        Each piece is the -o file of a classify, embed or annotate run with --shard; its manifest (PIECE.shard.json, written beside it) says which part it is. The pieces must be parts 1..N of one run: the same task, input, model and options, none missing or given twice, each the size its manifest records. They may be given in any order; the output keeps the input's order, with one header: classify and embed TSV and motif-model bedGraph (header line once; --tsv merges the parts' per-sequence tables), embed npy (rows joined, OUTPUT.rows.tsv too), annotate VCF (records copied through htslib; the header is the first part's, without its date and command lines being compared; .vcf.gz gets a tabix index). For classify pieces, --report writes the Kraken 2 report of the whole run and --counts its plain per-class counts, as one classify run writes them; the parts' --kraken-output files join by concatenation in part order. Nothing is written when a check fails.

        Examples:
          mamba-dna merge -o calls.tsv --report calls.kreport part1.tsv part2.tsv part3.tsv
          mamba-dna merge -o calls.vcf.gz part*.vcf.gz
        """)

    @Option(name: [.customShort("o"), .customLong("output")], help: "Merged output (default: stdout, for TSV and VCF).")
    var output: String?

    @Option(name: .long, help: "classify pieces: write the Kraken 2 report of the whole run here.")
    var report: String?

    @Option(name: .long, help: "classify pieces: write the plain per-class counts (class, reads, fraction) of the whole run here.")
    var counts: String?

    @Option(name: .long, help: "annotate --motif-model pieces: merge the parts' --tsv tables here.")
    var tsv: String?

    @Option(name: .long, help: "Threads for building a VCF index.")
    var threads: Int = 1

    @Argument(help: "The pieces: -o files of --shard runs.")
    var pieces: [String] = []

    func run() throws {
        guard !pieces.isEmpty else { fail("merge: give the pieces (the -o files of the --shard runs)", code: 2) }
        guard threads >= 1 else { fail("--threads must be at least 1", code: 2) }
        var o = ShardMerge.Options(pieces: pieces, output: output ?? "-")
        o.report = report; o.counts = counts; o.table = tsv; o.threads = threads
        o.commandLine = CommandLine.arguments.joined(separator: " ")
        FileInfo.quietLibraryLogs()
        do {
            let s = try ShardMerge.run(o)
            FileHandle.standardError.write(Data("mamba-dna merge: \(s.task) \(s.format), \(s.pieces) parts, \(s.items) \(s.unit)\n".utf8))
        } catch {
            fail(error)
        }
    }
}
