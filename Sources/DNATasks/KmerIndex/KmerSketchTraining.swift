import Foundation
import MambaModel
import MambaTrain

/// `train --task sketch`: a classifier model directory (`--init`) and labelled reads in; out, a copy of the
/// directory with a `KmerSketch` of the reads added (`kmer_sketch.safetensors`), which `classify` consults first.
public enum KmerSketchTraining {
    public struct Options {
        public var inputs: [String]
        public var output: String
        /// The classifier directory to copy; its labels are the sketch's classes (required).
        public var initFrom: String?
        public var labelKey = "label"
        public var labelsFile: String?
        public var reference: String?
        public var parameters = KmerSketch.Parameters()
        /// Classes counted at once at the end; the file is the same for any count.
        public var threads = 1
        public var force = false
        public init(inputs: [String], output: String) { self.inputs = inputs; self.output = output }
    }


    /// Builds the sketch and writes the output directory, or nothing: it is filled under a temporary sibling name
    /// and renamed into place. An existing output is refused unless `force`. Throws one line for invalid
    /// parameters, a missing or non-classifier `--init`, no labelled reads, a read without a label or with a label
    /// the classifier does not know, and for I/O errors.
    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void) throws -> KmerSketch {
        if let problem = o.parameters.problem { throw ToolError(problem) }
        let (initDir, labels, out) = try ClassifierAddOn.prepare(initFrom: o.initFrom, task: "sketch", inputs: o.inputs,
                                                                 output: o.output, force: o.force)

        let start = Date()
        var builder = KmerSketchBuilder(parameters: o.parameters, labels: labels)
        try ClassifierAddOn.forEachRead(inputs: o.inputs, labelKey: o.labelKey, labelsFile: o.labelsFile,
                                        reference: o.reference, labels: labels) { builder.add($0, classIndex: $1) }
        guard builder.reads.reduce(0, +) > 0 else {
            throw ToolError("no labelled reads in \(o.inputs.joined(separator: ", "))")
        }
        let sketch = build(builder, threads: o.threads, log: log)
        // The saved sketch must hold exactly the built sets.
        let fileSize = try ClassifierAddOn.write(out, copying: initDir, fileName: KmerSketch.fileName,
                                                 stale: [ReadConfidence.fileName], log: log,
                                                 save: { try sketch.save(to: $0) }) { dir in
            guard let again = try KmerSketch.load(directory: dir) else { return false }
            return again.fingerprints == sketch.fingerprints && again.starts == sketch.starts
        }
        log("\(KmerSketch.fileName): \(sketch.fingerprints.count) fingerprints, \(fileSize) bytes; built in "
            + String(format: "%.1f s", Date().timeIntervalSince(start)))
        log("model written to \(o.output)")
        return sketch
    }

    /// The sketch of tokenized training reads (`train --task classify --kmer-sketch`: the reads the model trains
    /// on, not the validation ones), logged as `run` logs it.
    static func sketch(of reads: [LabelledSequence], labels: [String], parameters: KmerSketch.Parameters, threads: Int,
                       log: (String) -> Void) -> KmerSketch {
        // Token ids back to base letters: A, C, G, T as such, every other id breaks k-mers as N does.
        let letters: [UInt8] = DNATokenizer.symbols.map { $0.count == 1 ? $0.utf8.first! : UInt8(ascii: "N") }
        var builder = KmerSketchBuilder(parameters: parameters, labels: labels)
        for r in reads {
            builder.add(r.tokens.map { $0 >= 0 && Int($0) < letters.count ? letters[Int($0)] : UInt8(ascii: "N") },
                        classIndex: r.label)
        }
        return build(builder, threads: threads, log: log)
    }

    /// Builds the sketch and logs the settings and, per class, the reads and k-mers it kept.
    static func build(_ builder: KmerSketchBuilder, threads: Int, log: (String) -> Void) -> KmerSketch {
        let (sketch, summaries) = builder.build(threads: threads)
        let p = builder.parameters
        log("k-mer sketch: k \(p.k), 1 in \(p.scaled) k-mers sampled, kept when seen \(p.minCount)+ times; "
            + "decides with \(p.minHits)+ hits and \(p.dominance)× the runner-up")
        for (label, s) in zip(builder.labels, summaries) {
            log("\(label): \(s.reads) reads, \(s.sampledOccurrences) sampled k-mers (\(s.distinctKmers) distinct), "
                + "\(s.kept) kept")
        }
        return sketch
    }
}
