import ArgumentParser
import DNATasks
import Foundation

/// `train` options for the k-mer sketch (--task sketch, and --task classify with --kmer-sketch).
struct KmerSketchTrainArguments: ParsableArguments {
    @Flag(name: .customLong("kmer-sketch"), help: "classify: also build a k-mer sketch of the training reads (not the validation ones) into the model directory, with the settings below.")
    var buildWithClassifier = false

    @Option(name: .customLong("sketch-k"), help: "sketch: k-mer length (1-31).")
    var k: Int = 21

    @Option(name: .customLong("sketch-scaled"), help: "sketch: keep about 1 in N k-mers (those whose hash is a multiple of N).")
    var scaled: Int = 16

    @Option(name: .customLong("sketch-min-count"), help: "sketch: a sampled k-mer must occur this often in a class's reads to be kept.")
    var minCount: Int = 2

    @Option(name: .customLong("sketch-min-hits"), help: "sketch: sampled k-mer hits the top class needs to decide a read.")
    var minHits: Int = 2

    @Option(name: .customLong("sketch-dominance"), help: "sketch: the top class needs this many times the hits of the runner-up.")
    var dominance: Double = 4

    var parameters: KmerSketch.Parameters {
        var p = KmerSketch.Parameters()
        p.k = k; p.scaled = scaled; p.minCount = minCount; p.minHits = minHits; p.dominance = dominance
        return p
    }

    /// With --kmer-sketch, the valid sketch settings for `train --task classify`; nil without it. Exits with one
    /// line for another task or an out-of-range setting.
    func classifierSketch(task: String) -> KmerSketch.Parameters? {
        guard buildWithClassifier else { return nil }
        guard task == "classify" else { fail("--kmer-sketch applies to --task classify only (--task sketch builds one for an existing classifier)", code: 2) }
        if let problem = parameters.problem { fail(problem, code: 2) }
        return parameters
    }

    /// Runs `train --task sketch` with the shared input and output settings; exits with one line on a bad input.
    func run(inputs: [String], output: String, initFrom: String?, labelKey: String, labelsFile: String?,
             reference: String?, threads: Int, force: Bool) {
        if let problem = parameters.problem { fail(problem, code: 2) }
        var o = KmerIndexTraining.Options(inputs: inputs, output: output, parameters: .sketch(parameters))
        o.initFrom = initFrom; o.labelKey = labelKey; o.labelsFile = labelsFile; o.reference = reference
        o.threads = threads; o.force = force
        guard threads >= 1 else { fail("--threads must be at least 1", code: 2) }
        FileInfo.quietLibraryLogs()
        do {
            try KmerIndexTraining.run(o) { FileHandle.standardError.write(Data("mamba-dna train: \($0)\n".utf8)) }
        } catch {
            fail(error)
        }
    }
}
