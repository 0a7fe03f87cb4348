import Foundation
import MambaModel

/// `kmer_profile.safetensors`: an F32 tensor `profile.log_prob` of shape [classes, 4^k] holding log P(w | c), and
/// string metadata `format: mamba-dna-kmer-profile`, `k`, `weight`, `strands`, `labels` (JSON array, class index
/// order), `sequences` (training sequences in all) and `class_sequences` (JSON array, per class).
extension KmerProfile {
    static let format = "mamba-dna-kmer-profile"
    static let tensorName = "profile.log_prob"

    public typealias Failure = KmerSketch.Failure

    /// Writes the profile to `path` (atomically: a temporary file renamed into place). Throws `ModelError.ioError`.
    public func save(to path: String) throws {
        func json(_ value: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self)
        }
        let p = parameters
        let metadata = ["format": Self.format, "k": "\(p.k)", "weight": "\(p.weight)", "strands": p.strands.rawValue,
                        "labels": try json(labels), "sequences": "\(sequences)", "class_sequences": try json(classSequences)]
        try Safetensors.write([(name: Self.tensorName, value: .floats(shape: [classCount, wordCount], values: logProb))],
                              metadata: metadata, to: path)
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
        func bad(_ why: String) -> Failure { Failure("\(path): not a valid k-mer profile: \(why)") }
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
        let shape = [labels.count, 1 << (2 * p.k)]
        guard let entry = file.entries[tensorName] else { throw bad("tensor '\(tensorName)' is missing") }
        guard entry.dtype == .F32, entry.shape == shape else {
            throw bad("tensor '\(tensorName)' is \(entry.dtype.rawValue) \(entry.shape), expected F32 \(shape)")
        }
        let t = try file.floats(tensorName)
        let logProb = Array(UnsafeBufferPointer(start: t.ptr, count: t.count))
        guard logProb.allSatisfy({ $0.isFinite && $0 <= 0 }) else {
            throw bad("tensor '\(tensorName)' holds values that are not finite log-probabilities")
        }
        return KmerProfile(parameters: p, labels: labels, classSequences: classSequences, logProb: logProb)
    }
}
