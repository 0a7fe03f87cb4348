import Foundation
import MambaModel
import SeqIO

/// `info`: what a path holds, as `key<TAB>value` lines.
///
/// A directory with `config.json` is a model directory (its configuration is read as plain
/// JSON, so no model code is involved); any other path is opened as a sequence or alignment
/// file by content.
public enum FileInfo {
    /// A one-line problem that names the path.

    /// The summary of `path` (`-` for stdin) as ordered key/value pairs; for model directories what the model is
    /// (architecture, shape, classes, add-ons, training) or, with `rawConfig`, a last pair `config` holding the
    /// pretty-printed config.json.
    /// - Parameters:
    ///   - reference: FASTA for decoding CRAM (otherwise the header's UR/M5 are used).
    ///   - threads: extra decompression threads (BGZF/CRAM).
    /// - Throws: `SeqIOError` or `ToolError`, whose descriptions name the path.
    ///   - rawConfig: for a model directory, end with the whole `config.json` (pair `config`) instead of the summary.
    public static func describe(path: String, reference: String? = nil, threads: Int = 0,
                                rawConfig: Bool = false) throws -> [(String, String)] {
        var isDirectory: ObjCBool = false
        if path != "-", FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try describeModelDirectory(path, rawConfig: rawConfig)
        }
        switch try InputFile.open(path: path, reference: reference, threads: threads) {
        case .sequences(let reader):
            return fields(try SequenceFileSummary.compute(reader: reader))
        case .alignments(let reader):
            return fields(try AlignmentFileSummary.compute(reader: reader))
        }
    }

    /// Lines ready to print: `key<TAB>value`, multi-line values after their key line.
    public static func render(_ pairs: [(String, String)]) -> String {
        var out = ""
        for (key, value) in pairs {
            out += value.contains("\n") ? "\(key)\n\(value)\n" : "\(key)\t\(value)\n"
        }
        return out
    }

    static func fields(_ s: SequenceFileSummary) -> [(String, String)] {
        [("file", s.path),
         ("format", s.format.rawValue),
         ("compression", s.compression.rawValue),
         ("records", "\(s.records)"),
         ("bases", "\(s.bases)"),
         ("min_length", "\(s.minLength)"),
         ("mean_length", String(format: "%.1f", s.meanLength)),
         ("max_length", "\(s.maxLength)"),
         ("N50", "\(s.n50)"),
         ("gc_fraction", s.gcFraction.map { String(format: "%.4f", $0) } ?? "NA")]
    }

    static func fields(_ s: AlignmentFileSummary) -> [(String, String)] {
        var pairs: [(String, String)] = [
            ("file", s.path),
            ("format", s.format.rawValue),
            ("compression", s.compression.rawValue),
            ("contigs", "\(s.contigs.count)"),
            ("reference_length", "\(s.contigs.reduce(0) { $0 + $1.length })"),
            ("index", s.hasIndex ? "yes" : "no"),
            ("records", "\(s.records)"),
            ("mapped", "\(s.mapped)"),
            ("unmapped", "\(s.unmapped)"),
            ("secondary", "\(s.secondary)"),
            ("supplementary", "\(s.supplementary)"),
        ]
        // Long assemblies have thousands of contigs; list only the first ones.
        for c in s.contigs.prefix(25) { pairs.append(("contig", "\(c.name)\t\(c.length)")) }
        if s.contigs.count > 25 { pairs.append(("contig", "... \(s.contigs.count - 25) more")) }
        return pairs
    }

    static func describeModelDirectory(_ path: String, rawConfig: Bool = false) throws -> [(String, String)] {
        let dir = URL(fileURLWithPath: path)
        let configURL = dir.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw ToolError("\(path): is a directory without config.json (not a model directory)")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL))
        } catch {
            throw ToolError("\(configURL.path): not valid JSON")
        }
        let pretty = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        var pairs: [(String, String)] = [("path", path), ("kind", "model directory")]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path))?.sorted() ?? []
        for name in files where [".safetensors", ".json", ".bin", ".tsv"].contains(where: name.hasSuffix) {
            let size = (try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path)[.size] as? Int) ?? 0
            pairs.append(("file", "\(name)\t\(size)"))
        }
        if !files.contains("model.safetensors") && !files.contains(where: { $0.hasSuffix(".safetensors") }) {
            pairs.append(("weights", "missing (no .safetensors file)"))
        }
        // How this machine would run the model: the precision commands use unless told, and what bf16 runs as here.
        pairs.append(("precision_default", Precision.default.rawValue))
        pairs.append(("precision_bf16", Precision.bf16Support().description))
        pairs.append(("cpu_features", Precision.cpuFeatures))
        pairs.append(("simd_kernels", KernelISA.current.rawValue))
        if rawConfig {
            pairs.append(("config", String(decoding: pretty, as: UTF8.self)))
        } else if let config = json as? [String: Any] {
            pairs.insert(contentsOf: modelSummary(config, directory: dir), at: 2)   // after path and kind
        }
        return pairs
    }
}

extension FileInfo {
    /// What a model directory's config.json (and training_summary.json, k-mer files) say, in the layouts this tool
    /// reads: mamba_ssm, transformers Mamba, Caduceus, and the classifiers `train` writes. Keys absent from the
    /// config are left out.
    static func modelSummary(_ c: [String: Any], directory dir: URL) -> [(String, String)] {
        func int(_ keys: String...) -> Int? {
            for k in keys { if let v = c[k] as? Int { return v } }
            if let ssm = c["ssm_cfg"] as? [String: Any] { for k in keys { if let v = ssm[k] as? Int { return v } } }
            return nil
        }
        var out: [(String, String)] = []
        let architectures = (c["architectures"] as? [String]) ?? []
        let type = (c["model_type"] as? String) ?? (c["ssm_cfg"] != nil ? "mamba_ssm" : nil)
        var kind = architectures.contains("MambaDNASequenceClassifier") ? "sequence classifier" : "encoder"
        if let task = c["task"] as? String { kind += " (\(task))" }
        out.append(("model", kind))
        if let encoder = (c["encoder"] as? String) ?? type { out.append(("architecture", encoder + ((c["rcps"] as? Bool) == true ? " (RCPS)" : ""))) }
        if let d = int("d_model", "hidden_size") { out.append(("d_model", "\(d)")) }
        if let n = int("n_layer", "num_hidden_layers") { out.append(("layers", "\(n)")) }
        if let n = int("d_state", "state_size") { out.append(("d_state", "\(n)")) }
        if let v = int("vocab_size") { out.append(("vocab_size", "\(v)")) }
        if let labels = c["labels"] as? [String] {
            out.append(("classes", "\(labels.count): " + labels.joined(separator: ", ")))
            if let bound = c["bound_label"] as? String { out.append(("bound_class", bound)) }
            if let pooling = c["pooling"] as? String { out.append(("pooling", pooling)) }
        }
        if let p = c["pretraining"] as? [String: Any] {
            if let tokens = p["tokens"] as? Int { out.append(("pretraining_tokens", "\(tokens)")) }
            if let loss = p["held_out_loss_nats"] as? Double { out.append(("pretraining_held_out_loss", String(format: "%.4f nats per base", loss))) }
        }
        // A classifier fine-tuned elsewhere (scripts/pretrain/gpu-finetune) records its run in config.json.
        if let f = c["fine_tuning"] as? [String: Any] {
            if let initial = f["init"] as? String { out.append(("fine_tuned_from", initial)) }
            if let steps = f["steps"] as? Int { out.append(("training_steps", "\(steps)")) }
            if let reads = f["reads"] as? Int { out.append(("training_reads", "\(reads)")) }
        }
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
        var addOns: [String] = []
        if KmerIndex.present(.sketch, in: files) { addOns.append("k-mer sketch") }
        if KmerIndex.present(.profile, in: files) { addOns.append("k-mer profile") }
        if !addOns.isEmpty { out.append(("add_ons", addOns.joined(separator: ", "))) }
        if let data = try? Data(contentsOf: dir.appendingPathComponent(ReadConfidence.fileName)),
           let cal = try? JSONDecoder().decode(ReadConfidence.Calibration.self, from: data) {
            let v = cal.validation
            out.append(("confidence_threshold", String(format: "%.6g", cal.threshold) + String(
                format: " (calibration reads at it: precision %.4f, %.4f of labelled reads kept, %.4f of random reads)",
                v["precision"] ?? .nan, v["labelled_kept"] ?? .nan, v["random_kept"] ?? .nan)))
        } else if architectures.contains("MambaDNASequenceClassifier") {
            out.append(("confidence_threshold", "0 (no calibration.json: uncalibrated scores, every read kept)"))
        }
        if let data = try? Data(contentsOf: dir.appendingPathComponent("training_summary.json")),
           let t = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            if let steps = t["steps"] as? Int, !out.contains(where: { $0.0 == "training_steps" }) {
                out.append(("training_steps", "\(steps)"))
            }
            if let v = t["validation"] as? [String: Any], let acc = v["accuracy"] as? Double, let n = v["reads"] as? Int {
                out.append(("validation_accuracy", String(format: "%.4f (%d reads)", acc, n)))
            }
        }
        return out
    }

    /// Silences htslib's own stderr messages (errors still arrive as thrown errors).
    public static func quietLibraryLogs() { HTSLibLogLevel.off.apply() }
}
