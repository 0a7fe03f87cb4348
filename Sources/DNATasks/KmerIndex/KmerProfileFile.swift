import Foundation
import MambaModel

/// `kmer_profile.safetensors`: per class c, two U8 tensors, `profile.words.<c>` (the class's present words, sorted,
/// as LEB128 varint differences, the first from 0) and `profile.counts.<c>` (n(w, c) for each, LEB128 varints), and
/// string metadata `format: mamba-dna-kmer-profile`, `k`, `weight`, `strands`, `labels` (JSON array, class index
/// order), `sequences` (training sequences in all) and `class_sequences` (JSON array, per class). Only counts are
/// stored (log P(w | c) follows from them), so the file grows with the words present, not with 4^k.
extension KmerProfile {
    static let format = "mamba-dna-kmer-profile"


    /// Writes the profile to `path` (atomically: a temporary file renamed into place). Throws `ModelError.ioError`.
    public func save(to path: String) throws {
        func json(_ value: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self)
        }
        let p = parameters
        let metadata = ["format": Self.format, "k": "\(p.k)", "weight": "\(p.weight)", "strands": p.strands.rawValue,
                        "labels": try json(labels), "sequences": "\(sequences)", "class_sequences": try json(classSequences)]
        var tensors: [(name: String, value: SafetensorsValue)] = []
        for c in labels.indices {
            let words = KmerSketch.encodeDeltas(classWords[c]), counts = Self.encodeVarints(classCounts[c])
            tensors.append((name: "profile.words.\(c)", value: .u8(shape: [words.count], values: words)))
            tensors.append((name: "profile.counts.\(c)", value: .u8(shape: [counts.count], values: counts)))
        }
        try Safetensors.write(tensors, metadata: metadata, to: path)
    }

    /// The profile stored in a classifier model directory, checked against the classifier's labels in its
    /// `config.json`; nil when the directory has no `kmer_profile.safetensors`. Throws one line naming the file
    /// for a corrupt or truncated file or for classes that differ from the classifier's.
    public static func load(directory: String) throws -> KmerProfile? {
        let dir = URL(fileURLWithPath: directory)
        let path = dir.appendingPathComponent(fileName).path
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let profile = try load(path: path)
        try ClassifierAddOn.checkLabels(profile.labels, of: path, in: directory, task: "profile")
        return profile
    }

    /// The profile in the file at `path`, without the check against a classifier. Throws one line naming the file.
    public static func load(path: String) throws -> KmerProfile {
        let file = try SafetensorsFile(path: path)
        func bad(_ why: String) -> ToolError { ToolError("\(path): not a valid k-mer profile: \(why)") }
        let meta = file.metadata
        guard meta["format"] == format else { throw bad("format is '\(meta["format"] ?? "")', expected '\(format)'") }
        func integer(_ key: String) throws -> Int {
            guard let s = meta[key], let v = Int(s) else { throw bad("metadata '\(key)' is missing or not an integer") }
            return v
        }
        func jsonArray<T>(_ key: String, of: T.Type) throws -> [T] {
            guard let data = meta[key]?.data(using: .utf8),
                  let array = (try? JSONSerialization.jsonObject(with: data)) as? [T], !array.isEmpty else {
                throw bad("metadata '\(key)' is missing or not a JSON array")
            }
            return array
        }
        var p = Parameters()
        p.k = try integer("k")
        guard let weight = meta["weight"].flatMap(Double.init) else { throw bad("metadata 'weight' is missing or not a number") }
        p.weight = weight
        guard let strands = meta["strands"].flatMap(Strands.init(rawValue:)) else {
            throw bad("metadata 'strands' is missing or not one of both, forward")
        }
        p.strands = strands
        if let problem = p.problem { throw bad("metadata out of range: \(problem.replacingOccurrences(of: "--profile-", with: ""))") }
        let labels = try jsonArray("labels", of: String.self)
        let classSequences = try jsonArray("class_sequences", of: Int.self)
        guard classSequences.count == labels.count, classSequences.allSatisfy({ $0 >= 0 }),
              try integer("sequences") == classSequences.reduce(0, +) else {
            throw bad("metadata 'class_sequences' does not hold one count per class summing to 'sequences'")
        }
        var classWords: [[UInt32]] = [], classCounts: [[UInt32]] = []
        for c in labels.indices {
            for name in ["profile.words.\(c)", "profile.counts.\(c)"] where file.entries[name]?.dtype != .U8 {
                throw bad("tensor '\(name)' (class '\(labels[c])') is missing or not U8")
            }
            guard let words = KmerSketch.decodeDeltas(try file.bytes("profile.words.\(c)")),
                  words.last.map({ Int($0) < 1 << (2 * p.k) }) ?? true else {
                throw bad("tensor 'profile.words.\(c)' is not a strictly increasing list of words below 4^k (truncated?)")
            }
            guard let counts = decodeVarints(try file.bytes("profile.counts.\(c)")), counts.count == words.count,
                  counts.allSatisfy({ $0 >= 1 && Int($0) <= classSequences[c] }) else {
                throw bad("tensor 'profile.counts.\(c)' does not hold one count in 1...\(classSequences[c]) per word (truncated?)")
            }
            classWords.append(words); classCounts.append(counts)
        }
        return KmerProfile(parameters: p, labels: labels, classSequences: classSequences, classWords: classWords,
                           classCounts: classCounts)
    }

    /// LEB128 varints (7 bits a byte, low bits first, high bit set on all but the last byte).
    static func encodeVarints(_ values: [UInt32]) -> [UInt8] {
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
}
