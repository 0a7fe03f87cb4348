import ArgumentParser
import DNATasks
import Foundation

/// `train` options for the naive Bayes k-mer profile (--task profile).
struct KmerProfileTrainArguments: ParsableArguments {
    @Option(name: .customLong("profile-k"), help: "profile: word length (1-12).")
    var k: Int = 8

    @Option(name: .customLong("profile-weight"), help: "profile: the profile's weight in classify (score = log model probability + weight × profile log-likelihood; classify --profile-weight overrides it).")
    var weight: Double = 0.1

    @Option(name: .customLong("profile-strands"), help: ArgumentHelp("profile: score a read as given and as its reverse complement, keeping the better (both), or as given only (forward).", valueName: "both|forward"))
    var strands: String = "both"

    /// Runs `train --task profile` with the shared input and output settings; exits with one line on a bad input.
    func run(inputs: [String], output: String, initFrom: String?, labelKey: String, labelsFile: String?,
             reference: String?, force: Bool) {
        guard let s = KmerProfile.Strands(rawValue: strands) else { fail("--profile-strands must be both or forward", code: 2) }
        var p = KmerProfile.Parameters()
        p.k = k; p.weight = weight; p.strands = s
        if let problem = p.problem { fail(problem, code: 2) }
        var o = KmerIndexTraining.Options(inputs: inputs, output: output, parameters: .profile(p))
        o.initFrom = initFrom; o.labelKey = labelKey; o.labelsFile = labelsFile; o.reference = reference; o.force = force
        FileInfo.quietLibraryLogs()
        do {
            try KmerIndexTraining.run(o) { FileHandle.standardError.write(Data("mamba-dna train: \($0)\n".utf8)) }
        } catch {
            fail(error)
        }
    }
}
