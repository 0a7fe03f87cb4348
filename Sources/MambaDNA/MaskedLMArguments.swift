import ArgumentParser
import DNATasks
import Foundation

/// `train` options for masked-LM pretraining (--task mlm).
struct MaskedLMTrainArguments: ParsableArguments {
    @Option(name: .customLong("mask-prob"), help: "Share of the bases masked per sequence (80% [MASK], 10% random, 10% kept).")
    var maskProb: Double = 0.15

    /// Runs `train --task mlm` with the shared training settings; exits with one line on a bad input.
    func run(_ o: inout MaskedLMTraining.Options) {
        guard maskProb > 0, maskProb < 1 else { fail("--mask-prob must be in (0, 1)", code: 2) }
        o.maskProbability = maskProb
        FileInfo.quietLibraryLogs()
        do {
            try MaskedLMTraining.run(o) { FileHandle.standardError.write(Data("mamba-dna train: \($0)\n".utf8)) }
        } catch {
            fail(error)
        }
    }
}
