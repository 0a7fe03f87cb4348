import Foundation
import MambaModel
import MambaTrain

/// `classify`: one row per read (`#read_id  label  probability`, optionally one probability column per
/// class) and Kraken-style counts per class.
public enum ReadClassifier {
    public struct Options {
        public var input: String
        public var modelDirectory: String?      // nil: the bundled species model
        public var output: String?              // nil: stdout
        public var allProbabilities = false
        public var report: String?              // nil: the counts go to the log (stderr)
        public var threads = 1
        public var batchTokens = 8192
        public var rcAverage: Bool?             // nil: as the model was saved
        public var reference: String?
        public init(input: String) { self.input = input }
    }

    public struct Summary: Sendable {
        public var reads = 0
        public var unclassified = 0             // empty reads
        public var counts: [String: Int] = [:]
        public var seconds = 0.0
        public var readsPerSecond: Double { Double(reads) / max(seconds, 1e-9) }
    }

    public typealias Failure = LabelledInput.Failure

    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void = { _ in }) throws -> Summary {
        guard let dir = o.modelDirectory ?? DefaultModels.species() else {
            throw Failure("no --model given and the bundled species model was not found (set MAMBA_DNA_DEFAULT_MODEL)")
        }
        let model = try ClassifierDirectory.load(dir)
        if let rc = o.rcAverage { model.rcAverage = rc }
        let C = model.classCount
        let predictor = ClassifierPredictor(model: model, threads: o.threads, batchTokens: o.batchTokens)
        let out = try TableWriter(path: o.output)
        var summary = Summary()
        let start = Date()
        do {
            var header = "#read_id\tlabel\tprobability"
            if o.allProbabilities { header += model.labels.map { "\t" + $0 }.joined() }
            try out.write(header + "\n")
            var names: [String] = [], seqs: [[Int32]] = [], tokens = 0
            // Several batches per worker between flushes, so the serial reading and formatting stay a small share.
            let flushTokens = o.batchTokens * max(1, o.threads) * 8
            func flush() throws {
                guard !names.isEmpty else { return }
                let nonEmpty = seqs.indices.filter { !seqs[$0].isEmpty }
                var probs = predictor.logits(nonEmpty.map { seqs[$0] })
                SequenceClassifier.softmax(&probs, classes: C)
                var text = "", k = 0
                for i in names.indices {
                    summary.reads += 1
                    guard !seqs[i].isEmpty else {
                        summary.unclassified += 1
                        text += "\(names[i])\tunclassified\t0" + String(repeating: "\t0", count: o.allProbabilities ? C : 0) + "\n"
                        continue
                    }
                    let row = probs[(k * C)..<((k + 1) * C)]
                    k += 1
                    let best = row.indices.max { row[$0] < row[$1] }! - row.startIndex
                    summary.counts[model.labels[best], default: 0] += 1
                    text += "\(names[i])\t\(model.labels[best])\t\(format(row[row.startIndex + best]))"
                    if o.allProbabilities { text += row.map { "\t" + format($0) }.joined() }
                    text += "\n"
                }
                try out.write(text)
                names.removeAll(keepingCapacity: true); seqs.removeAll(keepingCapacity: true); tokens = 0
            }
            try ReadSource.forEach(o.input, reference: o.reference) { r in
                names.append(r.name); seqs.append(DNATokenizer.encode(r.bases)); tokens += r.bases.count
                if tokens >= flushTokens { try flush() }
            }
            try flush()
            try out.finish()
        } catch {
            out.abandon()
            throw error
        }
        summary.seconds = Date().timeIntervalSince(start)
        let report = reportText(summary, labels: model.labels)
        if let path = o.report {
            try writeAtomically(Data(report.utf8), to: path)
        } else {
            log("summary:\n" + report.dropLast())
        }
        log(String(format: "classified %d reads in %.2f s (%.0f reads/s, %d threads)", summary.reads,
                   summary.seconds, summary.readsPerSecond, o.threads) + " with \(dir)")
        return summary
    }

    /// `#class  reads  fraction`, most frequent first, unclassified last.
    public static func reportText(_ s: Summary, labels: [String]) -> String {
        var text = "#class\treads\tfraction\n"
        let total = Double(max(s.reads, 1))
        let order = labels.sorted { (s.counts[$0] ?? 0, $1) > (s.counts[$1] ?? 0, $0) }
        for l in order { text += "\(l)\t\(s.counts[l] ?? 0)\t" + String(format: "%.4f", Double(s.counts[l] ?? 0) / total) + "\n" }
        if s.unclassified > 0 { text += "unclassified\t\(s.unclassified)\t" + String(format: "%.4f", Double(s.unclassified) / total) + "\n" }
        return text
    }

    static func format(_ p: Float) -> String { String(format: "%.4f", p) }
}

/// Text output to stdout, or to a temporary file renamed to `path` by `finish` (removed by `abandon`).
final class TableWriter {
    let path: String?
    let tmp: String?
    let handle: FileHandle

    init(path: String?) throws {
        self.path = path
        guard let path else { tmp = nil; handle = .standardOutput; return }
        let url = URL(fileURLWithPath: path)
        let t = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        guard FileManager.default.createFile(atPath: t, contents: nil), let h = FileHandle(forWritingAtPath: t) else {
            throw LabelledInput.Failure("\(path): cannot create the output file")
        }
        tmp = t; handle = h
    }

    func write(_ s: String) throws { try handle.write(contentsOf: Data(s.utf8)) }

    func finish() throws {
        guard let path, let tmp else { return }
        try handle.close()
        guard rename(tmp, path) == 0 else {
            throw LabelledInput.Failure("\(path): cannot rename the output into place: \(String(cString: strerror(errno)))")
        }
    }

    func abandon() {
        guard let tmp else { return }
        try? handle.close()
        unlink(tmp)
    }
}
