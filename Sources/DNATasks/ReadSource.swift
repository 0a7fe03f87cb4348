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
        switch try InputFile.open(path: path, reference: reference, threads: threads) {
        case .sequences(let reader):
            while let r = try reader.next() { try body(Read(name: r.name, comment: r.comment, bases: r.sequence)) }
        case .alignments(let reader):
            while let r = try reader.next() {
                if !isPrimary(r) { continue }
                try body(Read(name: r.name, comment: "", bases: r.originalOrientation.sequence))
            }
        }
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
        let total = try count(path, reference: reference, threads: threads)
        let range = shard.records(total: total)
        if !range.isEmpty {
            // Records before the part are passed over without being copied out of the reader.
            switch try InputFile.open(path: path, reference: reference, threads: threads) {
            case .sequences(let reader):
                for _ in 0..<range.lowerBound { _ = try reader.advance() }
                for _ in range {
                    guard let r = try reader.next() else { break }
                    try body(Read(name: r.name, comment: r.comment, bases: r.sequence))
                }
            case .alignments(let reader):
                var index = 0
                while index < range.upperBound, let r = try reader.next() {
                    if !isPrimary(r) { continue }
                    if index >= range.lowerBound { try body(Read(name: r.name, comment: "", bases: r.originalOrientation.sequence)) }
                    index += 1
                }
            }
        }
        return ShardRange(shard: shard, first: range.lowerBound, end: range.upperBound, total: total, unit: "records")
    }

    /// The number of records `forEach` visits (primary reads for alignment files).
    static func count(_ path: String, reference: String?, threads: Int) throws -> Int {
        var n = 0
        switch try InputFile.open(path: path, reference: reference, threads: threads) {
        case .sequences(let reader):
            while try reader.advance() { n += 1 }
        case .alignments(let reader):
            while let r = try reader.next() {
                if isPrimary(r) { n += 1 }
            }
        }
        return n
    }

    /// Reads are counted and given out once: secondary and supplementary alignments repeat a primary one.
    private static func isPrimary(_ r: AlignmentRecord) -> Bool {
        !r.flags.contains(.secondary) && !r.flags.contains(.supplementary)
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
