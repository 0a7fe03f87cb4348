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
                if r.flags.contains(.secondary) || r.flags.contains(.supplementary) { continue }
                try body(Read(name: r.name, comment: "", bases: r.originalOrientation.sequence))
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
