import ArgumentParser
import DNATasks
import Foundation

/// `train` options for the read-confidence calibration (--task calibrate).
struct CalibrateTrainArguments: ParsableArguments {
    @Option(name: .customLong("random-reads"), help: "calibrate: random DNA reads scored beside the labelled ones (never right; default: a quarter of the labelled reads, at least 1000).")
    var randomReads: Int?

    @Option(name: .customLong("target-precision"), help: "calibrate: the default threshold keeps reads while they are at least this precise on the calibration reads.")
    var targetPrecision: Double = 0.99

    @Option(name: .customLong("max-random-kept"), help: "calibrate: at most this share of the random reads may pass the default threshold.")
    var maxRandomKept: Double = 0.05

    /// Runs `train --task calibrate`; exits with one line on a bad input.
    func run(inputs: [String], output: String, initFrom: String?, labelKey: String, labelsFile: String?,
             reference: String?, threads: Int, seed: UInt64, force: Bool) {
        guard threads >= 1 else { fail("--threads must be at least 1", code: 2) }
        var o = ConfidenceCalibration.Options(inputs: inputs, output: output)
        o.initFrom = initFrom; o.labelKey = labelKey; o.labelsFile = labelsFile; o.reference = reference; o.force = force
        o.threads = threads; o.seed = seed; o.randomReads = randomReads; o.targetPrecision = targetPrecision
        o.maxRandomKept = maxRandomKept
        if let problem = o.problem { fail(problem, code: 2) }
        FileInfo.quietLibraryLogs()
        do {
            try ConfidenceCalibration.run(o) { FileHandle.standardError.write(Data("mamba-dna train: \($0)\n".utf8)) }
        } catch {
            fail(error)
        }
    }
}
