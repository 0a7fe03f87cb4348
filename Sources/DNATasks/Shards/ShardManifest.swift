import FileOutput
import Foundation
import MambaModel

/// Where one part sits in the whole: items `first..<end` of `total` (records, or reference chunks).
public struct ShardRange: Codable, Sendable, Equatable {
    public var shard: Int
    public var count: Int
    public var first: Int
    public var end: Int
    public var total: Int
    public var unit: String

    /// "records 67-133 of 200" (1-based, inclusive), or "no records (of 200)" for an empty part.
    public var text: String {
        "shard \(shard)/\(count): " + (end > first ? "\(unit) \(first + 1)-\(end) of \(total)" : "no \(unit) (of \(total))")
    }

    init(shard: Shard, first: Int, end: Int, total: Int, unit: String) {
        self.shard = shard.index; self.count = shard.count
        self.first = first; self.end = end; self.total = total; self.unit = unit
    }
}

/// The record a `--shard I/N` run writes beside its output (`OUTPUT.shard.json`), which `merge` reads to check
/// that its pieces are the parts of one run, each whole, none missing or given twice.
public struct ShardManifest: Codable, Sendable, Equatable {
    public static let suffix = ".shard.json"
    public static let formatName = "mamba-dna shard piece 1"

    public var manifest = ShardManifest.formatName
    public var tool = "mamba-dna \(ToolVersion.current)"
    /// `classify`, `embed` or `annotate`.
    public var task: String
    /// The piece's file format: `tsv`, `npy` or `vcf`.
    public var format: String
    /// Everything besides the part that shapes the output (model contents, options); equal for the parts of a run.
    public var settings: String
    public var input: String
    public var inputBytes: Int
    public var range: ShardRange
    /// The piece's file name (no folder) and size; a piece of another size was cut short or changed.
    public var output: String
    public var outputBytes: Int
    /// Files written beside the output (`OUTPUT.rows.tsv` for npy) and their sizes.
    public var companions: [String: Int] = [:]
    /// A second table the part wrote (`annotate --motif-model --tsv`), as its path was given; also in `companions`.
    public var table: String?
    /// classify: the model's classes in order, reads per class and unclassified reads per reason.
    public var labels: [String]?
    public var counts: [String: Int]?
    public var unclassified: [String: Int]?
    /// classify: the model directory's `taxonomy.tsv` as it was read (nil: the model has none).
    public var taxonomy: String?

    init(task: String, format: String, settings: String, input: String, range: ShardRange, output: String) throws {
        self.task = task; self.format = format; self.settings = settings
        self.input = input; self.range = range
        self.inputBytes = Self.size(input) ?? -1
        self.output = (output as NSString).lastPathComponent
        guard let bytes = Self.size(output) else { throw ToolError(file: output, "--shard needs a regular output file (-o FILE)") }
        self.outputBytes = bytes
    }

    /// Before a part run: its output must be a file (the manifest goes beside it), and the manifest of an earlier
    /// run there is removed, so a part that fails leaves no manifest that could vouch for another output.
    static func prepare(output: String?) throws {
        guard let output, output != "-" else {
            throw ToolError(file: "--shard", "needs -o FILE: the part's manifest is written beside it")
        }
        try? FileManager.default.removeItem(atPath: output + suffix)
    }

    /// Writes the manifest beside `output` (atomically).
    func write(beside output: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        do {
            try writeAtomically(try encoder.encode(self) + Data("\n".utf8), to: output + Self.suffix)
        } catch {
            throw ToolError(file: output + Self.suffix, "cannot write the shard manifest: \(ErrorText.reason(error))")
        }
    }

    /// The manifest written beside `piece`.
    /// - Throws: `ToolError` naming the piece when it has none (not a `--shard` output) or it cannot be read.
    public static func read(beside piece: String) throws -> ShardManifest {
        let path = piece + suffix
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ToolError(file: piece, "no \((path as NSString).lastPathComponent) beside it: not the output of a --shard run")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let m = try? decoder.decode(ShardManifest.self, from: data), m.manifest == formatName else {
            throw ToolError(file: path, "not a mamba-dna shard manifest")
        }
        return m
    }

    /// Size of a regular file, nil for anything else.
    static func size(_ path: String) -> Int? {
        guard let a = try? FileManager.default.attributesOfItem(atPath: path),
              a[.type] as? FileAttributeType == .typeRegular else { return nil }
        return (a[.size] as? NSNumber)?.intValue
    }

    /// FNV-1a (64 bits) of a text, in hex.
    static func digest(text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return String(h, radix: 16)
    }

    /// `PATH@DIGEST`: the model as named, and a digest of its directory's contents (every regular file, by name
    /// and bytes; FNV-1a, 64 bits), so parts of one run name the same model and the same files.
    static func model(_ path: String) -> String { path + "@" + digest(directory: path) }

    static func digest(directory: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: UnsafeRawBufferPointer) { for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 } }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        for name in names {
            let path = directory + "/" + name
            guard size(path) != nil, let data = FileManager.default.contents(atPath: path) else { continue }
            Array(name.utf8).withUnsafeBytes(mix)
            data.withUnsafeBytes(mix)
        }
        return String(h, radix: 16)
    }
}
