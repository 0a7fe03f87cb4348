import SeqIO

/// Reads to classify or train on: FASTA/FASTQ records (plain, gzip, BGZF, `-` for stdin), or the primary
/// reads of a SAM/BAM/CRAM file as sequenced (reverse-strand alignments reverse-complemented back).
enum ReadSource {
    struct Read {
        var name: String
        var comment: String   // FASTA/FASTQ header text after the id; empty for alignments
        var bases: [UInt8]
    }

    static func forEach(_ path: String, reference: String? = nil, threads: Int = 0,
                        _ body: (Read) throws -> Void) throws {
        try forEachUntil(path, reference: reference, threads: threads) { try body($0); return true }
    }

    /// The records of part `shard` (all records when nil), in input order, and the part's place in the
    /// input. A part needs the input's record count first, so the input is read twice: a file, not stdin.
    @discardableResult
    static func forEach(_ path: String, reference: String? = nil, threads: Int = 0, shard: Shard?,
                        _ body: (Read) throws -> Void) throws -> ShardRange? {
        guard let shard else {
            try forEach(path, reference: reference, threads: threads, body)
            return nil
        }
        guard path != "-" else { throw ToolError(file: "-", "--shard reads the input twice (to count its records): give a file, not stdin") }
        var total = 0
        try forEachUntil(path, reference: reference, threads: threads) { _ in total += 1; return true }
        let range = shard.records(total: total)
        var index = 0
        if !range.isEmpty {
            try forEachUntil(path, reference: reference, threads: threads) { r in
                defer { index += 1 }
                if index >= range.lowerBound { try body(r) }
                return index + 1 < range.upperBound
            }
        }
        return ShardRange(shard: shard, first: range.lowerBound, end: range.upperBound, total: total, unit: "records")
    }

    /// Calls `body` for each read until it returns false.
    private static func forEachUntil(_ path: String, reference: String?, threads: Int, _ body: (Read) throws -> Bool) throws {
        switch try InputFile.open(path: path, reference: reference, threads: threads) {
        case .sequences(let reader):
            while let r = try reader.next() {
                if try !body(Read(name: r.name, comment: r.comment, bases: r.sequence)) { return }
            }
        case .alignments(let reader):
            while let r = try reader.next() {
                if r.flags.contains(.secondary) || r.flags.contains(.supplementary) { continue }
                if try !body(Read(name: r.name, comment: "", bases: r.originalOrientation.sequence)) { return }
            }
        }
    }

    /// The value of `key=VALUE` in a header comment (whitespace-separated fields), if present.
    static func headerValue(_ comment: String, key: String) -> String? {
        let prefix = key + "="
        for field in comment.split(whereSeparator: { $0 == " " || $0 == "\t" }) where field.hasPrefix(prefix) {
            let v = field.dropFirst(prefix.count)
            return v.isEmpty ? nil : String(v)
        }
        return nil
    }
}
