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

    public typealias Failure = LabelledInput.Failure

    /// Builds the sketch and writes the output directory, or nothing: it is filled under a temporary sibling name
    /// and renamed into place. An existing output is refused unless `force`. Throws one line for invalid
    /// parameters, a missing or non-classifier `--init`, no labelled reads, a read without a label or with a label
    /// the classifier does not know, and for I/O errors.
    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void) throws -> KmerSketch {
        if let problem = o.parameters.problem { throw Failure(problem) }
        guard let initDir = o.initFrom else { throw Failure("--task sketch needs --init CLASSIFIER_DIR (the model it extends)") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: initDir, isDirectory: &isDir), isDir.boolValue else {
            throw Failure("--init \(initDir): no such directory")
        }
        guard ClassifierDirectory.isClassifier(initDir) else {
            throw Failure("--init \(initDir): not a classifier model directory (its config.json does not declare "
                          + "\(SequenceClassifier.architecture))")
        }
        let labels = try ClassifierDirectory.load(initDir).labels
        guard !o.inputs.isEmpty else { throw Failure("no input reads given") }
        let out = try ClassifierTraining.outputURL(o.output, force: o.force)

        let start = Date()
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
        var builder = KmerSketchBuilder(parameters: o.parameters, labels: labels)
        try LabelledInput.forEachLabelled(inputs: o.inputs, labelKey: o.labelKey, labelsFile: o.labelsFile,
                                          reference: o.reference) { path, read, label in
            guard let c = index[label] else {
                throw Failure("\(path): read '\(read.name)' has label '\(label)', which is not one of the classifier's "
                              + "classes (\(labels.joined(separator: ", ")))")
            }
            builder.add(read.bases, classIndex: c)
        }
        guard builder.reads.reduce(0, +) > 0 else {
            throw Failure("no labelled reads in \(o.inputs.joined(separator: ", "))")
        }
        let sketch = build(builder, threads: o.threads, log: log)

        var fileSize = 0
        try ClassifierTraining.writeOutput(out) { tmp in
            try copyRegularFiles(from: initDir, to: tmp)
            let path = tmp.appendingPathComponent(KmerSketch.fileName).path
            try sketch.save(to: path)
            fileSize = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            // The saved sketch must hold exactly the built sets.
            guard let again = try KmerSketch.load(directory: tmp.path), again.fingerprints == sketch.fingerprints,
                  again.starts == sketch.starts else {
                throw Failure("internal error: the saved k-mer sketch does not reproduce the built one")
            }
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

    /// Copies every regular file of `source` (symbolic links followed; subdirectories and an old sketch skipped)
    /// into `destination`, created here, writable by the owner.
    static func copyRegularFiles(from source: String, to destination: URL) throws {
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: destination, withIntermediateDirectories: true)
            for name in try fm.contentsOfDirectory(atPath: source).sorted() where name != KmerSketch.fileName {
                let from = URL(fileURLWithPath: source).appendingPathComponent(name).resolvingSymlinksInPath()
                guard (try fm.attributesOfItem(atPath: from.path)[.type] as? FileAttributeType) == .typeRegular else { continue }
                let to = destination.appendingPathComponent(name)
                try fm.copyItem(at: from, to: to)
                try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: to.path)
            }
        } catch let e as Failure {
            throw e
        } catch {
            throw Failure("--init \(source): cannot copy the model directory: \(error.localizedDescription)")
        }
    }
}
