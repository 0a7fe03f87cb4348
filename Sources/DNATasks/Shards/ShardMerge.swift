import FileOutput
import Foundation
import MambaModel
import SeqIO

/// `merge`: the pieces of a `--shard I/N` run back into the file one run writes. Each piece's manifest
/// (`PIECE.shard.json`) says which part it is; the pieces must be the parts 1…N of one run (same task, input,
/// model and options), each whole (the size its manifest records), none missing or given twice. Text tables keep
/// one header; npy arrays are joined row-wise (their `.rows.tsv` too); VCF records are copied through htslib.
public enum ShardMerge {
    public struct Options {
        public var pieces: [String]
        public var output: String
        /// classify: the Kraken 2 report of the whole run (as `classify --report`), from the manifests.
        public var report: String?
        /// classify: the plain per-class counts of the whole run (`class  reads  fraction`), from the manifests.
        public var counts: String?
        /// annotate --motif-model: the parts' `--tsv` tables, merged here.
        public var table: String?
        public var threads = 1
        public var commandLine: String?
        public init(pieces: [String], output: String) { self.pieces = pieces; self.output = output }
    }

    public struct Summary: Sendable {
        public var task = ""
        public var format = ""
        public var pieces = 0
        public var items = 0
        public var unit = ""
    }

    /// Checks the pieces and writes the merged output (and report). Nothing is written when a check fails.
    /// - Throws: `ToolError` naming the piece at fault: no manifest, another size than its manifest records, from
    ///   another run than the first piece, a part given twice or missing; `--report` or `--counts` for a task other than
    ///   classify.
    @discardableResult
    public static func run(_ o: Options) throws -> Summary {
        guard !o.pieces.isEmpty else { throw ToolError("merge: give the pieces (the -o files of the --shard runs)") }
        let checked = try check(o.pieces)
        let first = checked[0].manifest
        for (option, path) in [("--report", o.report), ("--counts", o.counts)] where path != nil && first.task != "classify" {
            throw ToolError(file: option, "per-class counts belong to classify pieces, these are \(first.task)")
        }
        let inputs = o.pieces + o.pieces.map { $0 + ShardManifest.suffix }
        if o.output == "-" && first.format != "tsv" && first.format != "vcf" {
            throw ToolError(file: "-o", "a merged \(first.format) needs a regular file, not stdout")
        }
        try OutputPath.validate(o.output, inputs: inputs)
        for path in [o.report, o.counts].compactMap({ $0 }) { try OutputPath.validate(path, inputs: inputs + [o.output]) }
        let manifests = checked.map(\.manifest)
        let taxonomy = try manifests[0].taxonomy.map {
            try ClassTaxonomy(text: $0, labels: manifests[0].labels ?? [], file: checked[0].path + ShardManifest.suffix)
        }
        if let table = o.table {
            guard checked.allSatisfy({ $0.manifest.table != nil }) else {
                throw ToolError(file: "--tsv", "the parts wrote no per-sequence table (annotate --motif-model --tsv)")
            }
            try OutputPath.validate(table, inputs: inputs + [o.output] + checked.map { $0.manifest.table! })
        }
        let paths = checked.map(\.path)
        switch first.format {
        case "tsv", "bedgraph":
            try concatenateTables(paths, to: o.output, inputs: inputs)
            if let table = o.table { try concatenateTables(checked.map { $0.manifest.table! }, to: table, inputs: inputs) }
        case "npy": try concatenateArrays(paths, to: o.output, inputs: inputs)
        case "vcf":
            let extra = o.commandLine.map { ["##mamba-dna_mergeCommand=" + $0] } ?? []
            do {
                try VariantFileConcatenation.concatenate(paths, to: o.output, ignoringHeaderKeys: ["fileDate", "mamba-dna_command"],
                                                         extraHeaderLines: extra, threads: o.threads)
            } catch let e as SeqIOError {
                throw ToolError("\(e)")
            }
        default:
            throw ToolError(file: paths[0] + ShardManifest.suffix, "unknown piece format '\(first.format)'")
        }
        let summary = summary(manifests)
        let labels = manifests[0].labels ?? summary.counts.keys.sorted()
        if let counts = o.counts {
            try writeAtomically(Data(ReadClassifier.reportText(summary, labels: labels).utf8), to: counts)
        }
        if let report = o.report {
            try writeAtomically(Data(KrakenReport.text(counts: summary.counts, unclassified: summary.unclassified,
                                                       labels: labels, taxonomy: taxonomy).utf8), to: report)
        }
        return Summary(task: first.task, format: first.format, pieces: checked.count, items: first.range.total, unit: first.range.unit)
    }

    /// The pieces in part order, each checked against its manifest and against the first piece's run.
    static func check(_ pieces: [String]) throws -> [(path: String, manifest: ShardManifest)] {
        var list: [(path: String, manifest: ShardManifest)] = []
        for p in pieces {
            let m = try ShardManifest.read(beside: p)
            guard let bytes = ShardManifest.size(p) else { throw ToolError(file: p, "missing or not a regular file") }
            guard bytes == m.outputBytes else {
                throw ToolError(file: p, "\(bytes) bytes where its manifest records \(m.outputBytes): cut short or changed after it was written")
            }
            for (name, size) in m.companions {
                // Beside the piece, or an absolute path.
                let path = name.hasPrefix("/") ? name : ((p as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
                guard ShardManifest.size(path) == size else {
                    throw ToolError(file: path, "missing, or not the \(size) bytes the manifest of \(p) records")
                }
            }
            list.append((p, m))
        }
        let a = list[0].manifest
        for (p, m) in list.dropFirst() {
            func differs(_ what: String) -> ToolError { ToolError(file: p, "not a part of the same run as \(list[0].path): \(what) differs") }
            if m.task != a.task { throw differs("the task (\(m.task) vs \(a.task))") }
            if m.format != a.format { throw differs("the format (\(m.format) vs \(a.format))") }
            if m.tool != a.tool { throw differs("the mamba-dna version (\(m.tool) vs \(a.tool))") }
            if m.input != a.input || m.inputBytes != a.inputBytes { throw differs("the input (\(m.input) vs \(a.input))") }
            if m.settings != a.settings { throw differs("the model or options") }
            if m.range.count != a.range.count || m.range.total != a.range.total || m.range.unit != a.range.unit {
                throw differs("the shard count (\(m.range.shard)/\(m.range.count) vs \(a.range.shard)/\(a.range.count))")
            }
        }
        list.sort { $0.manifest.range.shard < $1.manifest.range.shard }
        for k in list.indices.dropFirst() where list[k].manifest.range.shard == list[k - 1].manifest.range.shard {
            throw ToolError(file: list[k].path, "shard \(list[k].manifest.range.shard)/\(a.range.count) given twice (also \(list[k - 1].path))")
        }
        let have = Set(list.map(\.manifest.range.shard))
        if let missing = (1...a.range.count).first(where: { !have.contains($0) }) {
            throw ToolError(file: "merge", "shard \(missing)/\(a.range.count) missing (pieces given: "
                            + list.map { "\($0.manifest.range.shard)" }.joined(separator: ", ") + ")")
        }
        // The parts tile the input: each starts where the one before it ends.
        var next = 0
        for (p, m) in list {
            guard m.range.first == next, m.range.end >= m.range.first else {
                throw ToolError(file: p, "covers \(m.range.unit) \(m.range.first)..<\(m.range.end), expected to start at \(next): overlapping or mismatched parts")
            }
            next = m.range.end
        }
        guard next == a.range.total else { throw ToolError(file: list.last!.path, "the parts end at \(next) of \(a.range.total) \(a.range.unit)") }
        return list
    }

    /// Text tables with one header line: the first piece's header, then every piece's rows in part order.
    static func concatenateTables(_ paths: [String], to output: String, inputs: [String]) throws {
        let out = try OutputFile(output, inputs: inputs)
        do {
            var header: Data?
            for p in paths {
                try copy(p, to: out) { head in
                    // The first block: the header line is compared, written once, and skipped in later pieces.
                    let cut = head.firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? head.endIndex
                    let line = head[head.startIndex..<cut]
                    if let header, header != line { throw ToolError(file: p, "header line differs from \(paths[0])'s") }
                    if header == nil { header = Data(line); return 0 }
                    return cut - head.startIndex
                }
            }
            try out.commit()
        } catch {
            out.abandon()
            throw error
        }
    }

    /// `.npy` float32 arrays of one width joined row-wise, and their `.rows.tsv` tables.
    static func concatenateArrays(_ paths: [String], to output: String, inputs: [String]) throws {
        var rows = 0, dim = -1
        for p in paths {
            guard let h = FileHandle(forReadingAtPath: p) else { throw ToolError(file: p, "cannot read") }
            defer { try? h.close() }
            guard let head = try? h.read(upToCount: NPYEmbeddingSink.headerBytes),
                  let (r, d, offset) = NPYEmbeddingSink.parseHeader(head) else { throw ToolError(file: p, "not a float32 2-D .npy array") }
            guard ShardManifest.size(p) == offset + r * d * 4 else { throw ToolError(file: p, "cut short: \(r)×\(d) floats do not fill it") }
            if dim >= 0, d != dim { throw ToolError(file: p, "\(d) columns where \(paths[0]) has \(dim)") }
            dim = d; rows += r
        }
        let out = try OutputFile(output, inputs: inputs)
        do {
            guard !out.output.isDirect else { throw ToolError(file: output, "a merged npy needs a regular file") }
            try out.write(Data(NPYEmbeddingSink.header(rows: rows, dim: dim)))
            for p in paths { try copy(p, to: out) { _ in NPYEmbeddingSink.headerBytes } }
            try concatenateTables(paths.map { $0 + ".rows.tsv" }, to: output + ".rows.tsv", inputs: inputs)
            try out.commit()
        } catch {
            out.abandon()
            throw error
        }
    }

    /// Copies a file into `out` in blocks; `skip` sees the first block and says how many of its bytes to leave out.
    private static func copy(_ path: String, to out: OutputFile, skip: (Data) throws -> Int) throws {
        guard let h = FileHandle(forReadingAtPath: path) else { throw ToolError(file: path, "cannot read") }
        defer { try? h.close() }
        var firstBlock = true
        while true {
            let block: Data
            do { block = try h.read(upToCount: 1 << 22) ?? Data() } catch { throw ToolError(file: path, "cannot read: \(ErrorText.reason(error))") }
            if block.isEmpty && !firstBlock { break }
            var from = block.startIndex
            if firstBlock { from += try skip(block); firstBlock = false }
            if from < block.endIndex { try out.write(Data(block[from...])) }
            if block.isEmpty { break }
        }
    }

    /// The classify counts of the whole run from the pieces' manifests.
    static func summary(_ manifests: [ShardManifest]) -> ReadClassifier.Summary {
        var s = ReadClassifier.Summary()
        for m in manifests {
            for (k, v) in m.counts ?? [:] { s.counts[k, default: 0] += v }
            for (k, v) in m.unclassified ?? [:] {
                s.unclassified += v
                if let r = ReadScreen.Reason(rawValue: k) { s.unclassifiedReasons[r, default: 0] += v }
            }
            s.reads += m.range.end - m.range.first
        }
        return s
    }
}
