import Foundation
import MambaModel

/// `kmer_sketch.safetensors`: one U8 tensor `sketch.<classIndex>` per class, holding the class's sorted fingerprints
/// as LEB128 varints of the differences between neighbours (the first one from 0), and string metadata
/// `format: mamba-dna-kmer-sketch`, `hash: murmur3-fmix64`, `k`, `scaled`, `min_count`, `min_hits`, `dominance`,
/// `labels` (JSON array, class index order) and `reads`.
extension KmerSketch {
    static let format = "mamba-dna-kmer-sketch"
    static let hashName = "murmur3-fmix64"


    /// Writes the sketch to `path` (atomically: a temporary file renamed into place). Throws `ModelError.ioError`.
    public func save(to path: String) throws {
        let tensors = labels.indices.map { c -> (name: String, value: SafetensorsValue) in
            let bytes = Self.encodeDeltas(fingerprints(ofClass: c))
            return (name: "sketch.\(c)", value: .u8(shape: [bytes.count], values: bytes))
        }
        let labelsJSON = String(decoding: try JSONSerialization.data(withJSONObject: labels), as: UTF8.self)
        let p = parameters
        let metadata = ["format": Self.format, "hash": Self.hashName, "k": "\(p.k)", "scaled": "\(p.scaled)",
                        "min_count": "\(p.minCount)", "min_hits": "\(p.minHits)", "dominance": "\(p.dominance)",
                        "labels": labelsJSON, "reads": "\(reads)"]
        try Safetensors.write(tensors, metadata: metadata, to: path)
    }

    /// The sketch stored in a classifier model directory, checked against the classifier's labels in its
    /// `config.json`; nil when the directory has no `kmer_sketch.safetensors`. Throws one line naming the file
    /// for a corrupt or truncated file or for classes that differ from the classifier's.
    public static func load(directory: String) throws -> KmerSketch? {
        let dir = URL(fileURLWithPath: directory)
        let path = dir.appendingPathComponent(fileName).path
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let sketch = try load(path: path)
        try ClassifierAddOn.checkLabels(sketch.labels, of: path, in: directory, task: "sketch")
        return sketch
    }

    /// The sketch in the file at `path`, without the check against a classifier. Throws one line naming the file.
    public static func load(path: String) throws -> KmerSketch {
        let file = try SafetensorsFile(path: path)
        func bad(_ why: String) -> ToolError { ToolError("\(path): not a valid k-mer sketch: \(why)") }
        let meta = file.metadata
        guard meta["format"] == format else { throw bad("format is '\(meta["format"] ?? "")', expected '\(format)'") }
        guard meta["hash"] == hashName else { throw bad("hash is '\(meta["hash"] ?? "")', expected '\(hashName)'") }
        func integer(_ key: String) throws -> Int {
            guard let s = meta[key], let v = Int(s) else { throw bad("metadata '\(key)' is missing or not an integer") }
            return v
        }
        var p = Parameters()
        p.k = try integer("k"); p.scaled = try integer("scaled"); p.minCount = try integer("min_count")
        p.minHits = try integer("min_hits")
        guard let d = meta["dominance"].flatMap(Double.init) else { throw bad("metadata 'dominance' is missing or not a number") }
        p.dominance = d
        if let problem = p.problem { throw bad("metadata out of range: \(problem.replacingOccurrences(of: "--sketch-", with: ""))") }
        let reads = try integer("reads")
        guard let labelsData = meta["labels"]?.data(using: .utf8),
              let labels = (try? JSONSerialization.jsonObject(with: labelsData)) as? [String], !labels.isEmpty else {
            throw bad("metadata 'labels' is missing or not a JSON array of class names")
        }
        var sets: [[UInt32]] = []
        for c in labels.indices {
            let name = "sketch.\(c)"
            guard file.entries[name] != nil else { throw bad("tensor '\(name)' (class '\(labels[c])') is missing") }
            guard let set = decodeDeltas(try file.bytes(name)) else {
                throw bad("tensor '\(name)' is not a strictly increasing list of 32-bit varint deltas (truncated?)")
            }
            sets.append(set)
        }
        return KmerSketch(parameters: p, labels: labels, sets: sets, reads: reads)
    }

    /// LEB128 varints (7 bits a byte, low bits first, high bit set on all but the last byte) of the differences
    /// between neighbours of the sorted `values`, the first from 0.
    static func encodeDeltas<S: Sequence>(_ values: S) -> [UInt8] where S.Element == UInt32 {
        var out: [UInt8] = []
        var previous: UInt32 = 0
        for v in values {
            var d = v &- previous
            previous = v
            while d >= 0x80 { out.append(UInt8(d & 0x7f) | 0x80); d >>= 7 }
            out.append(UInt8(d))
        }
        return out
    }

    /// The inverse of `encodeDeltas`; nil for a cut-off varint, a value beyond UInt32, or a zero difference after
    /// the first value (the sets are strictly increasing).
    static func decodeDeltas(_ bytes: [UInt8]) -> [UInt32]? {
        var out: [UInt32] = []
        var value: UInt64 = 0, delta: UInt64 = 0, shift: UInt64 = 0
        for b in bytes {
            guard shift < 35 else { return nil }
            delta |= UInt64(b & 0x7f) << shift
            if b & 0x80 != 0 { shift += 7; continue }
            if !out.isEmpty && delta == 0 { return nil }
            value += delta
            guard value <= UInt64(UInt32.max) else { return nil }
            out.append(UInt32(value))
            delta = 0; shift = 0
        }
        return shift == 0 ? out : nil
    }
}
