import ArgumentParser
import DNATasks
import FileOutput
import MambaBench
import MambaModel
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure kernel and encoder throughput.",
        discussion: """
        Suites (default: all):
          scan      selective scan alone, d_inner 512, d_state 16: ns per position×channel
          gemm      GFLOP/s of the model's projection products, fp32 and bf16
          encoder   d_model 256 × 16 layers Mamba stack, streamed over each --length: tokens/s
          caduceus  the same dims as Caduceus-PS (bidirectional + RCPS): tokens/s
          packed    150 bp reads packed into batches, d256×16 and d64×4: reads/s and tokens/s
        Every figure is the median of --runs timed runs after one warm-up. peak_rss_MiB is the process's peak resident set so far: run one length per process to compare memory across lengths (scripts/bench does). A TSV table goes to stdout, JSON to --json FILE.

        Examples:
          mamba-dna bench scan gemm --threads 1 --runs 1
          mamba-dna bench encoder --length 512 --length 2048 --runs 1 --json enc.json   # scripts/bench: the full set
          mamba-dna bench encoder --save-model d256x16 --length 512 --runs 1
        """)

    @Argument(help: "Suites to run: scan, gemm, encoder, caduceus, packed (default: all).")
    var suites: [String] = []

    @Option(name: .long, help: "Threads for the kernels and the matrix products (default: all CPUs).")
    var threads: Int?

    @Option(name: .long, help: "Timed runs per figure, after one warm-up (the median is reported).")
    var runs: Int = 5

    @Option(name: .customLong("length"), help: "Encoder length in tokens (repeatable; default 512, 8192, 65536, 1048576).")
    var lengths: [Int] = []

    @Option(name: .customLong("caduceus-length"), help: "Sequence length for the caduceus suite.")
    var caduceusLength: Int = 131_072

    @Option(name: .customLong("stream-chunk"),
            help: "Tokens per streaming call in the encoder suite (default: the model's chunk, 8,192 or 4,096 per thread).")
    var streamChunk: Int?

    @Flag(name: .customLong("no-layer-pipeline"),
          help: "Run every layer on all threads in turn instead of the layers as a pipeline over threads.")
    var noLayerPipeline = false

    @Option(name: .customLong("batch-bases"), help: "Bases per packed batch in the packed suite.")
    var batchBases: Int = 8192

    @Option(name: .long, help: "Run the encoder and packed suites on this Mamba checkpoint instead of random weights.")
    var model: String?

    @Option(name: .customLong("save-model"), help: "Write the benchmark's d256×16 model to this directory.")
    var saveModel: String?

    @Option(name: .long, help: "Seed of the random weights and inputs.")
    var seed: UInt64 = 1

    @Option(name: .long, help: ArgumentHelp("Precision of the encoder, caduceus and packed suites: fp32, bf16 or both (each figure in fp32, then in bf16, with the ratio).", valueName: "fp32|bf16|both"))
    var precision = "both"

    @Option(name: .long, help: "Also write the figures as JSON to this file.")
    var json: String?

    func validate() throws {
        for s in suites where Benchmark.Suite(rawValue: s) == nil {
            throw ValidationError("unknown suite '\(s)' (scan, gemm, encoder, caduceus, packed)")
        }
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
        if precision != "both" && Precision(rawValue: precision) == nil {
            throw ValidationError("--precision must be fp32, bf16 or both, not '\(precision)'")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if lengths.contains(where: { $0 < 1 }) || caduceusLength < 1 { throw ValidationError("lengths must be positive") }
    }

    func run() throws {
        var o = Benchmark.Options()
        if !suites.isEmpty { o.suites = suites.compactMap(Benchmark.Suite.init(rawValue:)) }
        if let threads { o.threads = threads }
        o.runs = runs
        o.precisions = precision == "both" ? [.fp32, .bf16] : [Precision(rawValue: precision)!]
        if !lengths.isEmpty { o.lengths = lengths }
        o.caduceusLength = caduceusLength
        if let streamChunk { o.streamChunk = streamChunk }
        o.layerPipeline = !noLayerPipeline
        o.batchBases = batchBases
        o.modelDirectory = model
        o.saveModelDirectory = saveModel
        o.seed = seed
        var results: [[String: Any]] = []
        print(Benchmark.tableHeader)
        do {
            try Benchmark.run(o) { r in
                print(Benchmark.tableRow(r))
                finishStandardOutput()
                results.append(r.json)
            }
        } catch {
            fail(error)
        }
        finishStandardOutput()
        if let json {
            let doc: [String: Any] = ["environment": Benchmark.environment(o), "results": results]
            do {
                let out = try OutputFile(json)
                do {
                    try out.write(try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys]))
                    try out.commit()
                } catch {
                    out.abandon()
                    throw error
                }
            } catch {
                fail(error)
            }
        }
    }
}
