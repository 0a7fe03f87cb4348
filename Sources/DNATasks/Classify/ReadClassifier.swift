import FileOutput
import Foundation
import MambaModel

/// `classify`: one row per read (`read_id  label  probability`, optionally one probability column per
/// class), and on request a Kraken 2 report, Kraken 2 per-read lines and plain counts per class. When the model directory holds a `KmerSketch`, the reads it decides
/// get its class, with the shares of the read's sketch hits as probabilities; the model predicts the others. When it
/// holds a `KmerProfile`, the profile's weighted scores are added to the model's log-probabilities of those others.
public enum ReadClassifier {
    public struct Options {
        public var input: String
        public var modelDirectory: String?      // nil: the bundled species model
        public var output: String?              // nil: stdout
        public var allProbabilities = false
        /// A Kraken 2 report of the run (`KrakenReport.text`), with the model directory's taxonomy when it has one.
        public var report: String?
        /// Kraken 2 per-read output (`KrakenReport.outputLine`), in input order.
        public var krakenOutput: String?
        /// The plain per-class counts (`class  reads  fraction`); nil: they go to the log (stderr).
        public var counts: String?
        public var threads = 1
        public var batchTokens = 8192
        /// Arithmetic of the encoder's projections; bf16 falls back to fp32 (with a note) on a CPU without it.
        public var precision: Precision = .default
        public var rcAverage: Bool?             // nil: as the model was saved
        public var reference: String?
        /// Consult the model directory's k-mer sketch (if it has one) before the model.
        public var useKmerSketch = true
        /// Combine the model directory's k-mer profile (if it has one) with the model's probabilities.
        public var useKmerProfile = true
        /// The profile's weight for this run (≥ 0; 0: the model alone); nil: the weight stored in the profile.
        public var profileWeight: Double?
        /// Reads this leaves out (too short, mostly non-ACGT, low complexity) are reported `unclassified` with the
        /// reason; nil: every non-empty read is classified.
        public var screen: ReadScreen? = ReadScreen()
        /// Reads whose confidence (see `ReadConfidence`) is below this are `unclassified` (low-confidence); nil: the
        /// model directory's calibrated default (0 without a calibration).
        public var confidence: Double?
        /// Called after each batch with the reads and bases read so far (a progress display).
        public var progress: ((_ reads: Int, _ bases: Int) -> Void)?
        /// Classify only this part of the reads (by record index) and write its manifest beside `output`.
        public var shard: Shard?
        /// The second mates' file: `input` and this are read in lockstep as read pairs (FASTA/FASTQ, names agreeing
        /// but for a trailing /1 and /2), one decision and one row per pair (see `ReadScorer.scorePairs`); `shard`
        /// then splits by pair. nil: every record of `input` is a read of its own.
        public var mate2: String?
        public init(input: String) { self.input = input }
    }

    public struct Summary: Sendable {
        public var reads = 0                    // reads, or read pairs with `mate2`
        public var unclassified = 0             // reads left unclassified, for any reason
        public var unclassifiedReasons: [ReadScreen.Reason: Int] = [:]
        public var sketchDecided = 0            // reads the k-mer sketch decided (the model predicted the rest)
        public var profileScored = 0            // model predictions the k-mer profile was added to
        public var counts: [String: Int] = [:]
        public var seconds = 0.0
        public var readsPerSecond: Double { Double(reads) / max(seconds, 1e-9) }
    }


    /// Classifies every read of `o.input` and writes the table. Throws one line for a missing or invalid model
    /// directory (its sketch and profile included), a negative `profileWeight` or one given without a profile to
    /// apply it to, and for input and output errors (a partial output file is removed).
    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void = { _ in }) throws -> Summary {
        guard let dir = o.modelDirectory ?? DefaultModels.species() else {
            throw ToolError("no --model given and the bundled species model was not found (set MAMBA_DNA_DEFAULT_MODEL)")
        }
        if o.shard != nil { try ShardManifest.prepare(output: o.output) }
        let model = try ClassifierDirectory.load(dir)
        var precision = o.precision
        if let why = model.usePrecision(o.precision).fallbackReason { log("--precision bf16: running fp32 (\(why))"); precision = .fp32 }
        if let rc = o.rcAverage { model.rcAverage = rc }
        let taxonomy = try ClassTaxonomy.load(directory: dir, labels: model.labels)
        let sketch = o.useKmerSketch ? try KmerSketch.load(directory: dir) : nil
        let (profile, profileWeight, hasProfile) = try loadProfile(o, directory: dir)
        // A calibration fitted with a sketch or profile that this run leaves out (--no-kmer-sketch, --no-kmer-profile,
        // --profile-weight 0) does not describe this run's scores: they are reported as they are, and every read is
        // kept unless --confidence says otherwise. A directory whose add-ons differ from its calibration is an error.
        let used = ReadConfidence.modelFeatureNames(hasSketch: sketch != nil, hasProfile: profile != nil)
        let turnedOff = !o.useKmerSketch || !o.useKmerProfile || o.profileWeight == 0
        let confidence: ReadConfidence
        if turnedOff, let fitted = try ReadConfidence.fittedFeatures(directory: dir), fitted != used,
           Set(used).isSubset(of: Set(fitted)) {
            log("\(ReadConfidence.fileName) not used: it was fitted with \(fitted.joined(separator: " and ")), which this "
                + "run leaves out; the confidence is the deciding score as it is, and no read is held back below a threshold "
                + "unless --confidence is given")
            confidence = ReadConfidence(calibration: nil)
        } else {
            confidence = try ReadConfidence.load(directory: dir, hasSketch: sketch != nil, hasProfile: profile != nil)
        }
        if let t = o.confidence, !(0...1).contains(t) { throw ToolError("--confidence must be between 0 and 1 (got \(t))") }
        let threshold = o.confidence ?? confidence.defaultThreshold
        let C = model.classCount
        let scorer = ReadScorer(model: model, predictor: ClassifierPredictor(model: model, threads: o.threads,
                                                                             batchTokens: o.batchTokens),
                                sketch: sketch, profile: profile, profileWeight: profileWeight, screen: o.screen,
                                confidence: confidence, threads: o.threads)
        if o.mate2 != nil, o.reference != nil { throw ToolError("--reference is for CRAM input; read pairs are FASTA/FASTQ") }
        let inputs = [o.input] + (o.mate2.map { [$0] } ?? []) + (o.reference.map { [$0] } ?? [])
        let mates = o.mate2 == nil ? 1 : 2
        let unit = mates == 1 ? "reads" : "pairs"
        for extra in [o.report, o.counts, o.krakenOutput].compactMap({ $0 }) {
            try OutputPath.validate(extra, inputs: inputs + (o.output.map { [$0] } ?? []))
        }
        let out = try OutputFile(o.output ?? "-", inputs: inputs)
        let kraken: OutputFile?
        do { kraken = try o.krakenOutput.map { try OutputFile($0, inputs: inputs) } } catch { out.abandon(); throw error }
        let taxids = model.labels.map { taxonomy?.taxid[$0] ?? 0 }
        var summary = Summary()
        var shardRange: ShardRange?
        let start = Date()
        do {
            var header = "read_id\tlabel\tconfidence"
            if o.allProbabilities { header += model.labels.map { "\t" + $0 }.joined() }
            header += "\treason"
            try out.write(header + "\n")
            // With pairs, `seqs` and `bases` hold the mates in turn (pair i: 2i and 2i + 1); `names` one per row.
            var names: [String] = [], seqs: [[Int32]] = [], bases: [[UInt8]] = [], tokens = 0
            // Several batches per worker between flushes, so the serial reading and formatting stay a small share.
            let flushTokens = o.batchTokens * max(1, o.threads) * 8
            // Reads the sketch decides never reach the model: read more per flush (up to 32×) so that the rest still
            // fill every worker's batches.
            var flushAt = flushTokens
            func flush() throws {
                guard !names.isEmpty else { return }
                let scored = mates == 1 ? scorer.score(bases: bases, tokens: seqs) : scorer.scorePairs(bases: bases, tokens: seqs)
                if sketch != nil {
                    var modelTokens = 0
                    for (i, r) in scored.enumerated() where r.screened == nil && !r.bySketch {
                        for m in 0..<mates { modelTokens += seqs[i * mates + m].count }
                    }
                    flushAt = flushTokens * min(32, max(1, tokens / max(modelTokens, 1)))
                }
                var text = "", krakenText = ""
                func lengths(_ i: Int) -> [Int] { (0..<mates).map { bases[i * mates + $0].count } }
                for (i, r) in scored.enumerated() {
                    summary.reads += 1
                    let reason = r.screened ?? (r.confidence < threshold ? .lowConfidence : nil)
                    if r.screened == nil {
                        if r.bySketch { summary.sketchDecided += 1 } else if profile != nil { summary.profileScored += 1 }
                    }
                    if let reason {
                        summary.unclassified += 1
                        summary.unclassifiedReasons[reason, default: 0] += 1
                        let score = r.screened == nil ? ReadConfidence.format(r.confidence) : "0"
                        let row = o.allProbabilities
                            ? (r.screened == nil ? r.row.map { "\t" + format($0) }.joined() : String(repeating: "\t0", count: C)) : ""
                        text += "\(names[i])\tunclassified\t\(score)\(row)\t\(reason.rawValue)\n"
                        if kraken != nil { krakenText += KrakenReport.outputLine(name: names[i], taxid: nil, lengths: lengths(i)) }
                        continue
                    }
                    summary.counts[model.labels[r.label], default: 0] += 1
                    text += "\(names[i])\t\(model.labels[r.label])\t\(ReadConfidence.format(r.confidence))"
                    if o.allProbabilities { text += r.row.map { "\t" + format($0) }.joined() }
                    text += "\t-\n"
                    if kraken != nil { krakenText += KrakenReport.outputLine(name: names[i], taxid: taxids[r.label], lengths: lengths(i)) }
                }
                try out.write(text)
                try kraken?.write(krakenText)
                names.removeAll(keepingCapacity: true); seqs.removeAll(keepingCapacity: true)
                bases.removeAll(keepingCapacity: true); tokens = 0
            }
            var basesRead = 0
            if let mate2 = o.mate2 {
                shardRange = try ReadSource.forEachPair(o.input, mate2, shard: o.shard) { name, r1, r2 in
                    names.append(name)
                    for r in [r1, r2] {
                        seqs.append(DNATokenizer.encode(r.bases)); tokens += r.bases.count
                        basesRead += r.bases.count
                        bases.append(r.bases)
                    }
                    o.progress?(summary.reads + names.count, basesRead)
                    if tokens >= flushAt { try flush() }
                }
            } else {
                shardRange = try ReadSource.forEach(o.input, reference: o.reference, shard: o.shard) { r in
                    names.append(r.name); seqs.append(DNATokenizer.encode(r.bases)); tokens += r.bases.count
                    basesRead += r.bases.count
                    o.progress?(summary.reads + names.count, basesRead)
                    bases.append(r.bases)
                    if tokens >= flushAt { try flush() }
                }
            }
            try flush()
            try out.commit()
            try kraken?.commit()
        } catch {
            out.abandon()
            kraken?.abandon()
            throw error
        }
        summary.seconds = Date().timeIntervalSince(start)
        let report = reportText(summary, labels: model.labels)
        if let path = o.counts {
            try writeAtomically(Data(report.utf8), to: path)
        }
        if let path = o.report {
            try writeAtomically(Data(KrakenReport.text(counts: summary.counts, unclassified: summary.unclassified,
                                                       labels: model.labels, taxonomy: taxonomy).utf8), to: path)
        }
        if let shardRange, let output = o.output {
            var settings = [
                "model=" + ShardManifest.model(dir), "all_probs=\(o.allProbabilities)",
                "precision=\(precision.rawValue)", "rc_average=\(model.rcAverage)",
                "kmer_sketch=\(sketch != nil)", "kmer_profile=\(profile != nil ? "\(profileWeight)" : "off")",
                "screen=" + (o.screen.map { "\($0)" } ?? "off"), "reference=\(o.reference ?? "-")",
                "confidence=\(threshold)" + (confidence.calibration == nil ? " uncalibrated" : ""),
            ]
            if let mate2 = o.mate2 { settings.append("mate2=\(mate2):\(ShardManifest.size(mate2) ?? -1)") }
            var m = try ShardManifest(task: "classify", format: "tsv", settings: settings.joined(separator: " "), input: o.input,
                                      range: shardRange, output: output)
            m.labels = model.labels
            m.taxonomy = taxonomy?.text
            m.counts = summary.counts
            m.unclassified = Dictionary(uniqueKeysWithValues: summary.unclassifiedReasons.map { ($0.key.rawValue, $0.value) })
            try m.write(beside: output)
            log(shardRange.text)
        }
        if o.counts == nil {
            log("summary:\n" + report.dropLast())
        }
        if summary.unclassified > 0 {
            let parts = ReadScreen.Reason.allCases.compactMap { r in summary.unclassifiedReasons[r].map { "\(r.rawValue) \($0)" } }
            log("unclassified \(summary.unclassified) of \(summary.reads) \(unit) (" + parts.joined(separator: ", ") + ")")
        }
        if sketch != nil {
            // Of the reads past the screen (those left out for low confidence included).
            let scored = summary.reads - summary.unclassified + (summary.unclassifiedReasons[.lowConfidence] ?? 0)
            log(String(format: "k-mer sketch decided %d of %d \(unit) (%.1f %%)", summary.sketchDecided, scored,
                       100 * Double(summary.sketchDecided) / Double(max(scored, 1))))
        }
        if profile != nil {
            log("k-mer profile (weight \(profileWeight)) added to the model's probabilities for \(summary.profileScored) \(unit)")
        } else if hasProfile {
            log("k-mer profile not used (weight 0): the model's probabilities as they are")
        }
        log(String(format: "classified %d \(unit) in %.2f s (%.0f \(unit)/s, %d threads)", summary.reads,
                   summary.seconds, summary.readsPerSecond, o.threads) + " with \(dir)")
        return summary
    }

    /// The model directory's k-mer profile with the weight to apply, or nil (no profile, `useKmerProfile` off, or a
    /// weight of 0: the model alone); `present` says whether the directory's profile was loaded at all.
    static func loadProfile(_ o: Options, directory: String) throws -> (profile: KmerProfile?, weight: Double, present: Bool) {
        if let w = o.profileWeight, !(w >= 0) || !w.isFinite {
            throw ToolError("--profile-weight must be a finite number of at least 0 (got \(w))")
        }
        guard o.useKmerProfile else {
            if o.profileWeight != nil { throw ToolError("--profile-weight and --no-kmer-profile exclude each other") }
            return (nil, 0, false)
        }
        guard let profile = try KmerProfile.load(directory: directory) else {
            if o.profileWeight != nil {
                throw ToolError("--profile-weight: \(directory) has no k-mer profile (\(KmerIndex.fileName(.profile)); see `train --task profile`)")
            }
            return (nil, 0, false)
        }
        let weight = o.profileWeight ?? profile.parameters.weight
        return weight > 0 ? (profile, weight, true) : (nil, 0, true)
    }

    /// `class  reads  fraction`, most frequent first, unclassified last.
    public static func reportText(_ s: Summary, labels: [String]) -> String {
        var text = "class\treads\tfraction\n"
        let total = Double(max(s.reads, 1))
        let order = labels.sorted { (s.counts[$0] ?? 0, $1) > (s.counts[$1] ?? 0, $0) }
        for l in order { text += "\(l)\t\(s.counts[l] ?? 0)\t" + String(format: "%.4f", Double(s.counts[l] ?? 0) / total) + "\n" }
        if s.unclassified > 0 { text += "unclassified\t\(s.unclassified)\t" + String(format: "%.4f", Double(s.unclassified) / total) + "\n" }
        return text
    }

    static func format(_ p: Float) -> String { String(format: "%.4f", p) }
}
