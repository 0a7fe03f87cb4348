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

    /// The summary of `path` (`-` for stdin) as ordered key/value pairs; for model
    /// directories the last pair is `config` with pretty-printed JSON as its value.
    /// - Parameters:
    ///   - reference: FASTA for decoding CRAM (otherwise the header's UR/M5 are used).
    ///   - threads: extra decompression threads (BGZF/CRAM).
    /// - Throws: `SeqIOError` or `ToolError`, whose descriptions name the path.
    public static func describe(path: String, reference: String? = nil, threads: Int = 0) throws -> [(String, String)] {
        var isDirectory: ObjCBool = false
        if path != "-", FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try describeModelDirectory(path)
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

    static func describeModelDirectory(_ path: String) throws -> [(String, String)] {
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
        for name in files where name.hasSuffix(".safetensors") || name.hasSuffix(".json") || name.hasSuffix(".bin") {
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
        pairs.append(("config", String(decoding: pretty, as: UTF8.self)))
        return pairs
    }
}

extension FileInfo {
    /// Silences htslib's own stderr messages (errors still arrive as thrown errors).
    public static func quietLibraryLogs() { HTSLibLogLevel.off.apply() }
}
