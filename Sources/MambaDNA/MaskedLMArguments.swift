import ArgumentParser
import DNATasks
import Foundation

/// `train` options for masked-LM pretraining (--task mlm).
struct MaskedLMTrainArguments: ParsableArguments {
    @Option(name: .long, help: "Model to pretrain: caduceus-ps (RC-equivariant), caduceus-ph or mamba (causal).")
    var arch: String = MaskedLMTraining.Architecture.caduceusPS.rawValue

    @Option(name: .customLong("mask-prob"), help: "Share of the bases masked per sequence (80% [MASK], 10% random, 10% kept).")
    var maskProb: Double = 0.15

    /// Runs `train --task mlm` with the shared training settings; exits with one line on a bad input.
    func run(_ o: inout MaskedLMTraining.Options) {
        guard let a = MaskedLMTraining.Architecture(rawValue: arch) else {
            fail("--arch must be one of " + MaskedLMTraining.Architecture.allCases.map(\.rawValue).joined(separator: ", "), code: 2)
        }
        guard maskProb > 0, maskProb < 1 else { fail("--mask-prob must be in (0, 1)", code: 2) }
        o.architecture = a
        o.maskProbability = maskProb
        FileInfo.quietLibraryLogs()
        BLASRuntime.useOptimizedKernels()
        do {
            try MaskedLMTraining.run(o) { FileHandle.standardError.write(Data("mamba-dna train: \($0)\n".utf8)) }
        } catch {
            fail("\(error)")
        }
    }
}
