import SeqIO

/// `info --regions N`: a reference's (indexed FASTA) or an alignment file's (header) contigs cut into N parts of
/// nearly equal length, as BED lines for `annotate -R` (with `--shard I/N`, part I is what shard I calls).
public enum RegionSplit {
    public struct Piece: Equatable, Sendable {
        public var contig: String
        public var start: Int   // 0-based
        public var end: Int     // exclusive
        public var part: Int    // 1-based
    }

    /// The contigs of an indexed FASTA or of a SAM/BAM/CRAM header.
    /// - Throws: `ToolError` naming the file when it is neither, or has no contigs.
    public static func contigs(of path: String, reference: String? = nil) throws -> [Contig] {
        let format = try DetectedFormat.detect(path: path).format
        let contigs: [Contig]
        if format.isAlignment {
            contigs = try AlignmentReader(path: path, reference: reference).contigs
        } else if format == .fasta {
            contigs = try ReferenceFasta(path: path).contigs
        } else {
            throw ToolError(file: path, "--regions needs an indexed FASTA or a SAM/BAM/CRAM file, not \(format.rawValue)")
        }
        guard contigs.contains(where: { $0.length > 0 }) else { throw ToolError(file: path, "no contigs with a length to cut") }
        return contigs
    }

    /// The contigs laid end to end and cut at ⌈i·L/N⌉ (i = 1…N−1): part i is one or more BED intervals (several
    /// when it spans contigs); parts differ in length by at most one base. N larger than L leaves parts empty.
    public static func split(_ contigs: [Contig], parts n: Int) -> [Piece] {
        precondition(n >= 1)
        let total = contigs.reduce(0) { $0 + max(0, $1.length) }
        var out: [Piece] = []
        var offset = 0
        for c in contigs where c.length > 0 {
            var s = 0
            while s < c.length {
                // The part holding global position offset + s, and where that part ends.
                let part = (offset + s) * n / total + 1
                let partEnd = (total * part + n - 1) / n   // first global position of part + 1: ⌈L·part/N⌉
                let e = min(c.length, partEnd - offset)
                out.append(Piece(contig: c.name, start: s, end: e, part: part))
                s = e
            }
            offset += c.length
        }
        return out
    }

    /// `contig  start  end  part_I` lines.
    public static func bed(_ pieces: [Piece]) -> String {
        pieces.map { "\($0.contig)\t\($0.start)\t\($0.end)\tpart_\($0.part)\n" }.joined()
    }
}
