import CHTSLib

/// Reads the intervals of a BED file (plain, gzip or BGZF; `-` for stdin) for `-R`.
///
/// BED is 0-based half-open, the same as `Region`, so coordinates are taken as they are.
/// Lines starting with `#`, `track` or `browser`, and blank lines, are skipped; columns
/// after the third are ignored.
public enum BEDReader {
    /// Reads every interval of `path`.
    /// - Parameter contigs: when given, each contig must be in it and each end within its length.
    /// - Throws: `SeqIOError` `.unreadable`, `.truncated`, `.malformed` (line number given),
    ///   `.unknownContig`, `.invalidRegion`.
    public static func read(path: String, contigs: [Contig]? = nil) throws -> [Region] {
        if path != "-" && mdna_is_directory(path) != 0 {
            throw SeqIOError(.unreadable, file: path, "is a directory")
        }
        let h = try openHFile(path)
        guard let fp = bgzf_hopen(h, "r") else {
            _ = hclose(h)
            throw SeqIOError(.unreadable, file: path, "cannot open: \(systemErrorText())")
        }
        defer { _ = bgzf_close(fp) }
        let lengths = contigs.map { Dictionary($0.map { ($0.name, $0.length) }, uniquingKeysWith: { a, _ in a }) }

        var line = kstring_t()
        defer { free(line.s) }
        var regions: [Region] = []
        var lineNumber = 0
        while true {
            let r = bgzf_getline(fp, 0x0A, &line)
            if r == -1 { break }
            if r < -1 || mdna_bgzf_errcode(fp) != 0 {
                throw SeqIOError(.truncated, file: path, "truncated or corrupt data after line \(lineNumber)")
            }
            lineNumber += 1
            var text = String(decoding: view(line), as: UTF8.self)
            if text.hasSuffix("\r") { text.removeLast() }
            if text.isEmpty || text.hasPrefix("#") || text.hasPrefix("track") || text.hasPrefix("browser") { continue }
            let fields = text.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 3, let start = Int(fields[1]), let end = Int(fields[2]) else {
                throw SeqIOError(.malformed, file: path, "line \(lineNumber): expected 'contig<TAB>start<TAB>end'")
            }
            guard start >= 0, start <= end else {
                throw SeqIOError(.invalidRegion, file: path, "line \(lineNumber): invalid interval \(start)-\(end)")
            }
            let contig = String(fields[0])
            if let lengths {
                guard let length = lengths[contig] else {
                    throw SeqIOError(.unknownContig, file: path, "line \(lineNumber): unknown contig '\(contig)'")
                }
                guard end <= length else {
                    throw SeqIOError(.invalidRegion, file: path,
                                     "line \(lineNumber): end \(end) is past the end of '\(contig)' (length \(length))")
                }
            }
            regions.append(Region(contig: contig, start: start, end: end))
        }
        return regions
    }
}
