import Foundation
import MambaModel
import MambaTrain

/// `train --task sketch` and `train --task profile`: a classifier model directory (`--init`) and labelled reads in;
/// out, a copy of the directory with a `KmerIndex` of the reads in the task's mode added
/// (`kmer_index.sketch.safetensors` or `kmer_index.profile.safetensors`), which `classify` uses. An index of the
/// other mode in `--init` is copied as it is.
public enum KmerIndexTraining {
    public struct Options {
        public var inputs: [String]
        public var output: String
        /// The classifier directory to copy; its labels are the index's classes (required).
        public var initFrom: String?
        public var labelKey = "label"
        public var labelsFile: String?
        public var reference: String?
        /// The mode and its settings.
        public var parameters: KmerIndex.Parameters
        /// Classes counted at once at the end; the file is the same for any count.
        public var threads = 1
        public var force = false
        public init(inputs: [String], output: String, parameters: KmerIndex.Parameters) {
            self.inputs = inputs; self.output = output; self.parameters = parameters
        }
    }

    /// Builds the index and writes the output directory, or nothing: it is filled under a temporary sibling name
    /// and renamed into place. An existing output is refused unless `force`. Throws one line for invalid
    /// parameters, a missing or non-classifier `--init`, no labelled reads, a read without a label or with a label
    /// the classifier does not know, and for I/O errors.
    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void) throws -> KmerIndex {
        if let problem = o.parameters.problem { throw ToolError(problem) }
        let mode = o.parameters.mode
        let (initDir, labels, out) = try ClassifierAddOn.prepare(initFrom: o.initFrom, task: mode.rawValue, inputs: o.inputs,
                                                                 output: o.output, force: o.force)

        let start = Date()
        var builder = KmerIndexBuilder(parameters: o.parameters, labels: labels)
        try ClassifierAddOn.forEachRead(inputs: o.inputs, labelKey: o.labelKey, labelsFile: o.labelsFile,
                                        reference: o.reference, labels: labels) { builder.add($0, classIndex: $1) }
        guard builder.reads.reduce(0, +) > 0 else {
            throw ToolError("no labelled reads in \(o.inputs.joined(separator: ", "))")
        }
        let index = build(builder, threads: o.threads, log: log)
        // The saved index must hold exactly the built one. The same mode's file of an earlier release is replaced.
        let fileName = KmerIndex.fileName(mode)
        let fileSize = try ClassifierAddOn.write(out, copying: initDir, fileName: fileName,
                                                 replacing: [KmerIndex.legacyFileName(mode)],
                                                 stale: [ReadConfidence.fileName], log: log,
                                                 save: { try index.save(to: $0) }) { dir in
            try KmerIndex.load(directory: dir, mode: mode) == index
        }
        let content = mode == .sketch ? "\(index.wordCount) fingerprints" : "\(index.reads) sequences"
        log("\(fileName): \(content), \(fileSize) bytes; built in " + String(format: "%.1f s", Date().timeIntervalSince(start)))
        log("model written to \(o.output)")
        return index
    }

    /// The index of tokenized training reads (`train --task classify --kmer-sketch`: the reads the model trains on,
    /// not the validation ones), logged as `run` logs it.
    static func index(of reads: [LabelledSequence], labels: [String], parameters: KmerIndex.Parameters, threads: Int,
                      log: (String) -> Void) -> KmerIndex {
        // Token ids back to base letters: A, C, G, T as such, every other id breaks k-mers as N does.
        let letters: [UInt8] = DNATokenizer.symbols.map { $0.count == 1 ? $0.utf8.first! : UInt8(ascii: "N") }
        var builder = KmerIndexBuilder(parameters: parameters, labels: labels)
        for r in reads {
            builder.add(r.tokens.map { $0 >= 0 && Int($0) < letters.count ? letters[Int($0)] : UInt8(ascii: "N") },
                        classIndex: r.label)
        }
        return build(builder, threads: threads, log: log)
    }

    /// Builds the index and logs the settings and, per class, the reads and words it kept.
    static func build(_ builder: KmerIndexBuilder, threads: Int, log: (String) -> Void) -> KmerIndex {
        let (index, summaries) = builder.build(threads: threads)
        switch builder.parameters {
        case .sketch(let p):
            log("k-mer sketch: k \(p.k), 1 in \(p.scaled) k-mers sampled, kept when seen \(p.minCount)+ times; "
                + "decides with \(p.minHits)+ hits and \(p.dominance)× the runner-up")
            for (label, s) in zip(builder.labels, summaries) {
                log("\(label): \(s.reads) reads, \(s.keys) sampled k-mers (\(s.distinct) distinct), \(s.kept) kept")
            }
        case .profile(let p):
            log("k-mer profile: k \(p.k) (\(1 << (2 * p.k)) words), \(p.strands.rawValue) strand\(p.strands == .both ? "s" : ""), "
                + "weight \(p.weight)")
            for (label, s) in zip(builder.labels, summaries) {
                log("\(label): \(s.reads) sequences, \(s.kept) distinct words")
            }
        }
        return index
    }
}
