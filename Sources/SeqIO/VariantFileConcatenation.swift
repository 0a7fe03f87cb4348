import CHTSLib
import FileOutput
import Foundation

/// Joins VCF/BCF files that cover consecutive parts of one call set, in the order given, into one file (as
/// `bcftools concat` without `--allow-overlaps`): records are copied through htslib as they are, the header is
/// the first file's. Output naming as `VariantFileWriter` (`.vcf.gz` BGZF + `.tbi`, `.bcf` + `.csi`, else VCF).
public enum VariantFileConcatenation {
    /// Concatenates `pieces` into `path`.
    /// - Parameters:
    ///   - ignoringHeaderKeys: `##KEY=` lines allowed to differ between the pieces (dates, command lines); every
    ///     other header line, and the sample columns, must be the same.
    ///   - extraHeaderLines: appended to the output header (e.g. `##…Command=`).
    /// - Returns: the number of records written.
    /// - Throws: `SeqIOError` naming the piece that cannot be read, whose header differs from the first's, or
    ///   whose data ends early; nothing is left under `path` on error.
    @discardableResult
    public static func concatenate(_ pieces: [String], to path: String, ignoringHeaderKeys: Set<String> = [],
                                   extraHeaderLines: [String] = [], threads: Int = 1) throws -> Int {
        precondition(!pieces.isEmpty)
        let opened = try pieces.map { try Piece(path: $0) }
        let reference = opened[0].headerLines(ignoring: ignoringHeaderKeys)
        for p in opened.dropFirst() where p.headerLines(ignoring: ignoringHeaderKeys) != reference {
            let mine = p.headerLines(ignoring: ignoringHeaderKeys)
            let first = zip(mine, reference).first { $0 != $1 }.map { "'\($0.0)' where \(pieces[0]) has '\($0.1)'" }
                ?? "\(mine.count) header lines where \(pieces[0]) has \(reference.count)"
            throw SeqIOError(.malformed, file: p.path, "header differs from \(pieces[0]): \(first)")
        }
        let writer = try VariantFileWriter(path: path, header: VariantHeader(), template: opened[0].hdr,
                                           extraLines: extraHeaderLines, threads: threads, inputs: pieces)
        let rec = bcf_init()!
        defer { bcf_destroy(rec) }
        for p in opened {
            var n = 0
            while true {
                let r = bcf_read(p.file, p.hdr, rec)
                if r == -1 { break }
                guard r == 0, rec.pointee.errcode == 0 else {
                    throw SeqIOError(.malformed, file: p.path, "truncated or malformed VCF/BCF data after \(n) records")
                }
                // The header is the first piece's; the same contigs in the same order keep the record's ids valid.
                try writer.writeCopy(rec)
                n += 1
            }
        }
        try writer.finish()
        return writer.recordCount
    }

    private final class Piece {
        let path: String
        let file: UnsafeMutablePointer<htsFile>
        let hdr: UnsafeMutablePointer<bcf_hdr_t>

        init(path: String) throws {
            self.path = path
            guard let fp = hts_open(path, "r") else { throw SeqIOError(.unreadable, file: path, "cannot open as VCF/BCF") }
            let format = hts_get_format(fp)!.pointee.format
            guard format == vcf || format == bcf, let h = bcf_hdr_read(fp) else {
                _ = hts_close(fp)
                throw SeqIOError(.unsupportedFormat, file: path, "not VCF/BCF")
            }
            file = fp; hdr = h
        }

        deinit { bcf_hdr_destroy(hdr); _ = hts_close(file) }

        /// The header's text lines, without `##KEY=` lines of the ignored keys.
        func headerLines(ignoring keys: Set<String>) -> [String] {
            var ks = kstring_t(l: 0, m: 0, s: nil)
            defer { free(ks.s) }
            guard bcf_hdr_format(hdr, 0, &ks) == 0, let s = ks.s else { return [] }
            return String(cString: s).split(separator: "\n").map(String.init).filter { line in
                !keys.contains { line.hasPrefix("##\($0)=") }
            }
        }
    }
}
