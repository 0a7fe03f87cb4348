import Foundation
import MambaModel

/// `kmer_index.<mode>.safetensors`: per class c a U8 tensor `index.words.<c>` (the class's sorted words as LEB128
/// varints of the differences between neighbours, the first from 0) and, in the profile mode, `index.counts.<c>`
/// (each word's count, LEB128 varints); string metadata `format: mamba-dna-kmer-index`, `mode` (sketch or profile),
/// `k`, `labels` (JSON array, class index order), `reads` (training reads in all), `class_reads` (JSON array, per
/// class; always in the profile mode) and the mode's settings: sketch `hash: murmur3-fmix64`, `scaled`,
/// `min_count`, `min_hits`, `dominance`; profile `weight`, `strands`. Only words and counts are stored (a profile's
/// log P(w | c) follows from them), so a file grows with the words present, not with 4^k.
///
/// Files of earlier releases are read as they are: `kmer_sketch.safetensors` (format `mamba-dna-kmer-sketch`, tensors
/// `sketch.<c>`, no per-class reads) and `kmer_profile.safetensors` (format `mamba-dna-kmer-profile`, tensors
/// `profile.words.<c>` and `profile.counts.<c>`, `sequences` and `class_sequences` for the reads). Their words are
/// encoded as here, so `scripts/convert-kmer-index` rewrites one as the other without decoding anything.
extension KmerIndex {
    static let format = "mamba-dna-kmer-index"
    static let hashName = "murmur3-fmix64"

    /// Where a format keeps the mode, the words, the counts and the reads.
    struct Layout {
        var mode: Mode?
        var words: (Int) -> String
        var counts: (Int) -> String
        var reads: String
        var classReads: String

        static let current = Layout(mode: nil, words: { "index.words.\($0)" }, counts: { "index.counts.\($0)" },
                                    reads: "reads", classReads: "class_reads")
        /// The earlier single-mode formats, by their `format` metadata.
        static let legacy: [String: Layout] = [
            "mamba-dna-kmer-sketch": Layout(mode: .sketch, words: { "sketch.\($0)" }, counts: { _ in "" },
                                            reads: "reads", classReads: ""),
            "mamba-dna-kmer-profile": Layout(mode: .profile, words: { "profile.words.\($0)" },
                                             counts: { "profile.counts.\($0)" }, reads: "sequences",
                                             classReads: "class_sequences"),
        ]
    }

    /// Writes the index to `path` (atomically: a temporary file renamed into place). Throws `ModelError.ioError`.
    public func save(to path: String) throws {
        func json(_ value: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self)
        }
        var metadata = ["format": Self.format, "mode": mode.rawValue, "k": "\(parameters.k)",
                        "labels": try json(labels), "reads": "\(reads)"]
        if let classReads { metadata["class_reads"] = try json(classReads) }
        switch parameters {
        case .sketch(let p):
            metadata.merge(["hash": Self.hashName, "scaled": "\(p.scaled)", "min_count": "\(p.minCount)",
                            "min_hits": "\(p.minHits)", "dominance": "\(p.dominance)"]) { $1 }
        case .profile(let p):
            metadata.merge(["weight": "\(p.weight)", "strands": p.strands.rawValue]) { $1 }
        }
        var tensors: [(name: String, value: SafetensorsValue)] = []
        for c in labels.indices {
            let bytes = Self.encodeDeltas(words(ofClass: c))
            tensors.append((name: Layout.current.words(c), value: .u8(shape: [bytes.count], values: bytes)))
            if mode == .profile {
                let counts = Self.encodeVarints(counts(ofClass: c))
                tensors.append((name: Layout.current.counts(c), value: .u8(shape: [counts.count], values: counts)))
            }
        }
        try Safetensors.write(tensors, metadata: metadata, to: path)
    }

    /// The `mode` index stored in a classifier model directory (`fileName(mode)`, or else the earlier
    /// `legacyFileName(mode)`), checked against the classifier's labels in its `config.json`; nil when the directory
    /// has neither. Throws one line naming the file for a corrupt or truncated file, a file of the other mode, or
    /// classes that differ from the classifier's.
    public static func load(directory: String, mode: Mode) throws -> KmerIndex? {
        let dir = URL(fileURLWithPath: directory)
        guard let path = [fileName(mode), legacyFileName(mode)].map({ dir.appendingPathComponent($0).path })
            .first(where: { FileManager.default.fileExists(atPath: $0) }) else { return nil }
        let index = try load(path: path)
        guard index.mode == mode else {
            throw ToolError("\(path): not a valid k-mer index: its mode is '\(index.mode.rawValue)', expected '\(mode.rawValue)'")
        }
        try ClassifierAddOn.checkLabels(index.labels, of: path, in: directory, task: mode.rawValue)
        return index
    }

    /// The index in the file at `path`, in the current or an earlier format, without the check against a
    /// classifier. Throws one line naming the file.
    public static func load(path: String) throws -> KmerIndex {
        let file = try SafetensorsFile(path: path)
        func bad(_ why: String) -> ToolError { ToolError("\(path): not a valid k-mer index: \(why)") }
        let meta = file.metadata
        let formatName = meta["format"] ?? ""
        guard let layout = formatName == format ? Layout.current : Layout.legacy[formatName] else {
            throw bad("format is '\(formatName)', expected '\(format)'")
        }
        guard let mode = layout.mode ?? meta["mode"].flatMap(Mode.init(rawValue:)) else {
            throw bad("metadata 'mode' is missing or not one of sketch, profile")
        }
        func integer(_ key: String) throws -> Int {
            guard let s = meta[key], let v = Int(s) else { throw bad("metadata '\(key)' is missing or not an integer") }
            return v
        }
        func number(_ key: String) throws -> Double {
            guard let v = meta[key].flatMap(Double.init) else { throw bad("metadata '\(key)' is missing or not a number") }
            return v
        }
        func jsonArray<T>(_ key: String, of: T.Type) throws -> [T] {
            guard let data = meta[key]?.data(using: .utf8),
                  let array = (try? JSONSerialization.jsonObject(with: data)) as? [T], !array.isEmpty else {
                throw bad("metadata '\(key)' is missing or not a JSON array")
            }
            return array
        }
        let parameters: Parameters
        switch mode {
        case .sketch:
            guard meta["hash"] == hashName else { throw bad("hash is '\(meta["hash"] ?? "")', expected '\(hashName)'") }
            var p = KmerSketch.Parameters()
            p.k = try integer("k"); p.scaled = try integer("scaled"); p.minCount = try integer("min_count")
            p.minHits = try integer("min_hits"); p.dominance = try number("dominance")
            parameters = .sketch(p)
        case .profile:
            var p = KmerProfile.Parameters()
            p.k = try integer("k"); p.weight = try number("weight")
            guard let strands = meta["strands"].flatMap(KmerProfile.Strands.init(rawValue:)) else {
                throw bad("metadata 'strands' is missing or not one of both, forward")
            }
            p.strands = strands
            parameters = .profile(p)
        }
        if let problem = parameters.problem {
            throw bad("metadata out of range: " + problem.replacingOccurrences(of: "--\(mode.rawValue)-", with: ""))
        }
        let labels = try jsonArray("labels", of: String.self)
        let reads = try integer(layout.reads)
        var classReads: [Int]?
        if mode == .profile || (!layout.classReads.isEmpty && meta[layout.classReads] != nil) {
            let perClass = try jsonArray(layout.classReads, of: Int.self)
            guard perClass.count == labels.count, perClass.allSatisfy({ $0 >= 0 }), reads == perClass.reduce(0, +) else {
                throw bad("metadata '\(layout.classReads)' does not hold one count per class summing to '\(layout.reads)'")
            }
            classReads = perClass
        }
        var words: [[UInt32]] = [], counts: [[UInt32]] = []
        for c in labels.indices {
            let names = mode == .profile ? [layout.words(c), layout.counts(c)] : [layout.words(c)]
            for name in names where file.entries[name]?.dtype != .U8 {
                throw bad("tensor '\(name)' (class '\(labels[c])') is missing or not U8")
            }
            // Profile words index a table of 4^k entries.
            let limit = mode == .profile ? UInt64(1) << UInt64(2 * parameters.k) : UInt64(1) << 32
            guard let list = decodeDeltas(try file.bytes(layout.words(c))),
                  list.last.map({ UInt64($0) < limit }) ?? true else {
                throw bad("tensor '\(layout.words(c))' is not a strictly increasing list of "
                          + (mode == .profile ? "words below 4^k" : "32-bit varint deltas") + " (truncated?)")
            }
            words.append(list)
            guard mode == .profile, let classReads else { continue }
            guard let n = decodeVarints(try file.bytes(layout.counts(c))), n.count == list.count,
                  n.allSatisfy({ $0 >= 1 && Int($0) <= classReads[c] }) else {
                throw bad("tensor '\(layout.counts(c))' does not hold one count in 1...\(classReads[c]) per word (truncated?)")
            }
            counts.append(n)
        }
        return KmerIndex(parameters: parameters, labels: labels, words: words, counts: mode == .profile ? counts : nil,
                         reads: reads, classReads: classReads)
    }

    /// LEB128 varints (7 bits a byte, low bits first, high bit set on all but the last byte).
    static func encodeVarints<S: Sequence>(_ values: S) -> [UInt8] where S.Element == UInt32 {
        var out: [UInt8] = []
        for v in values {
            var x = v
            while x >= 0x80 { out.append(UInt8(x & 0x7f) | 0x80); x >>= 7 }
            out.append(UInt8(x))
        }
        return out
    }

    /// The inverse of `encodeVarints`; nil for a cut-off varint or a value beyond UInt32.
    static func decodeVarints(_ bytes: [UInt8]) -> [UInt32]? {
        var out: [UInt32] = []
        var value: UInt64 = 0, shift: UInt64 = 0
        for b in bytes {
            guard shift < 35 else { return nil }
            value |= UInt64(b & 0x7f) << shift
            if b & 0x80 != 0 { shift += 7; continue }
            guard value <= UInt64(UInt32.max) else { return nil }
            out.append(UInt32(value))
            value = 0; shift = 0
        }
        return shift == 0 ? out : nil
    }

    /// `encodeVarints` of the differences between neighbours of the sorted `values`, the first from 0.
    static func encodeDeltas<S: Sequence>(_ values: S) -> [UInt8] where S.Element == UInt32 {
        var deltas: [UInt32] = [], previous: UInt32 = 0
        for v in values { deltas.append(v &- previous); previous = v }
        return encodeVarints(deltas)
    }

    /// The inverse of `encodeDeltas`; nil for a cut-off varint, a value beyond UInt32, or a zero difference after
    /// the first value (the lists are strictly increasing).
    static func decodeDeltas(_ bytes: [UInt8]) -> [UInt32]? {
        guard let deltas = decodeVarints(bytes) else { return nil }
        var out: [UInt32] = []
        out.reserveCapacity(deltas.count)
        var value: UInt64 = 0
        for d in deltas {
            if !out.isEmpty && d == 0 { return nil }
            value += UInt64(d)
            guard value <= UInt64(UInt32.max) else { return nil }
            out.append(UInt32(value))
        }
        return out
    }
}
