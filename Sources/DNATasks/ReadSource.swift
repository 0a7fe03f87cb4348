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

    /// Read pairs from two FASTA/FASTQ files (plain, gzip, BGZF) read in lockstep: record i of `path1` with record i
    /// of `path2`, of part `shard` (by pair index; all pairs when nil). Mates' names must agree once a trailing `/1`
    /// or `/2` is removed (the name is the header's first word); `body` gets that shared name.
    /// - Throws: one line naming the file and the record for stdin, an alignment file, mates whose names differ, or
    ///   one file ending before the other (with `shard`, the record counts are compared before any pair is read).
    @discardableResult
    static func forEachPair(_ path1: String, _ path2: String, threads: Int = 0, shard: Shard?,
                            _ body: (_ name: String, Read, Read) throws -> Void) throws -> ShardRange? {
        for path in [path1, path2] where path == "-" {
            throw ToolError(file: "-", "--paired reads two files in lockstep: give both mates' files, not stdin")
        }
        func open(_ path: String) throws -> SequenceReader {
            switch try InputFile.open(path: path, threads: threads) {
            case .sequences(let reader): return reader
            case .alignments: throw ToolError(file: path, "--paired takes FASTA/FASTQ files, not SAM/BAM/CRAM")
            }
        }
        var range = 0..<Int.max
        var total = 0
        if let shard {
            let n1 = try count(path1, reference: nil, threads: threads), n2 = try count(path2, reference: nil, threads: threads)
            if n1 != n2 {
                let (short, long) = n1 < n2 ? (path1, path2) : (path2, path1)
                throw ToolError(file: short, "ends after record \(min(n1, n2)), but \(long) has \(max(n1, n2)) records: the mates do not pair up")
            }
            total = n1
            range = shard.records(total: total)
        }
        let r1 = try open(path1), r2 = try open(path2)
        for _ in 0..<(shard == nil ? 0 : range.lowerBound) { _ = try r1.advance(); _ = try r2.advance() }
        var index = shard == nil ? 0 : range.lowerBound
        while index < range.upperBound {
            let a = try r1.next(), b = try r2.next()
            guard let a, let b else {
                if a == nil && b == nil { break }
                let (short, long) = a == nil ? (path1, path2) : (path2, path1)
                let extra = (a ?? b)!.name
                throw ToolError(file: short, "ends after record \(index), but \(long) goes on (record \(index + 1): \(extra)): the mates do not pair up")
            }
            let name = mateName(a.name)
            guard name == mateName(b.name) else {
                throw ToolError(file: path2, "record \(index + 1): mate name \(b.name) does not match \(a.name) in \(path1)")
            }
            try body(name, Read(name: a.name, comment: a.comment, bases: a.sequence),
                     Read(name: b.name, comment: b.comment, bases: b.sequence))
            index += 1
        }
        return shard.map { ShardRange(shard: $0, first: range.lowerBound, end: range.upperBound, total: total, unit: "pairs") }
    }

    /// A mate's name without a trailing `/1` or `/2` (and anything after the first whitespace).
    static func mateName(_ name: String) -> String {
        let id = name.prefix { $0 != " " && $0 != "\t" }
        if id.hasSuffix("/1") || id.hasSuffix("/2") { return String(id.dropLast(2)) }
        return String(id)
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
