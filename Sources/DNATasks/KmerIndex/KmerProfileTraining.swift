import Foundation
import MambaModel
import MambaTrain

/// `train --task profile`: a classifier model directory (`--init`) and labelled sequences in; out, a copy of the
/// directory with a `KmerProfile` of the sequences added (`kmer_profile.safetensors`), which `classify` combines
/// with the model's probabilities.
public enum KmerProfileTraining {
    public struct Options {
        public var inputs: [String]
        public var output: String
        /// The classifier directory to copy; its labels are the profile's classes (required).
        public var initFrom: String?
        public var labelKey = "label"
        public var labelsFile: String?
        public var reference: String?
        public var parameters = KmerProfile.Parameters()
        public var force = false
        public init(inputs: [String], output: String) { self.inputs = inputs; self.output = output }
    }


    /// Builds the profile and writes the output directory, or nothing: it is filled under a temporary sibling name
    /// and renamed into place. An existing output is refused unless `force`. Throws one line for invalid
    /// parameters, a missing or non-classifier `--init`, no labelled sequences, a sequence without a label or with
    /// a label the classifier does not know, and for I/O errors.
    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void) throws -> KmerProfile {
        if let problem = o.parameters.problem { throw ToolError(problem) }
        let (initDir, labels, out) = try ClassifierAddOn.prepare(initFrom: o.initFrom, task: "profile", inputs: o.inputs,
                                                                 output: o.output, force: o.force)

        let start = Date()
        var builder = KmerProfileBuilder(parameters: o.parameters, labels: labels)
        try ClassifierAddOn.forEachRead(inputs: o.inputs, labelKey: o.labelKey, labelsFile: o.labelsFile,
                                        reference: o.reference, labels: labels) { builder.add($0, classIndex: $1) }
        guard builder.sequences.reduce(0, +) > 0 else {
            throw ToolError("no labelled reads in \(o.inputs.joined(separator: ", "))")
        }
        let (profile, summaries) = builder.build()
        let p = o.parameters
        log("k-mer profile: k \(p.k) (\(profile.wordCount) words), \(p.strands.rawValue) strand\(p.strands == .both ? "s" : ""), "
            + "weight \(p.weight)")
        for (label, s) in zip(labels, summaries) {
            log("\(label): \(s.sequences) sequences, \(s.distinctWords) distinct words")
        }

        // The saved profile must hold exactly the built table.
        let fileSize = try ClassifierAddOn.write(out, copying: initDir, fileName: KmerProfile.fileName,
                                                 stale: [ReadConfidence.fileName], log: log,
                                                 save: { try profile.save(to: $0) }) { dir in
            guard let again = try KmerProfile.load(directory: dir) else { return false }
            return again.logProb == profile.logProb && again.parameters == profile.parameters
                && again.classSequences == profile.classSequences
        }
        log("\(KmerProfile.fileName): \(profile.sequences) sequences, \(fileSize) bytes; built in "
            + String(format: "%.1f s", Date().timeIntervalSince(start)))
        log("model written to \(o.output)")
        return profile
    }
}
