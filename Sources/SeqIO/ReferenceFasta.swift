import CHTSLib
import Foundation

/// Random access to an indexed FASTA (plain or bgzip-compressed) through htslib's faidx.
///
/// Not thread-safe (faidx keeps one file position); open one per thread.
public final class ReferenceFasta {
    /// The FASTA path as given.
    public let path: String
    /// Contigs in index order, with their lengths.
    public let contigs: [Contig]
    private let fai: OpaquePointer
    private let lengths: [String: Int]

    /// Loads `path`'s `.fai` (and `.gzi` for bgzip-compressed FASTA).
    /// - Parameter createIndex: build the missing index files next to the FASTA (needs write
    ///   access to its directory). When `false`, a missing index is an error.
    /// - Throws: `SeqIOError` `.unreadable` (missing file or index, or index not creatable).
    public init(path: String, createIndex: Bool = false) throws {
        self.path = path
        guard mdna_readable(path) != 0, mdna_is_directory(path) == 0 else {
            throw SeqIOError(.unreadable, file: path, "cannot open: \(mdna_is_directory(path) != 0 ? "is a directory" : systemErrorText())")
        }
        let flags = createIndex ? Int32(FAI_CREATE.rawValue) : 0
        guard let fai = fai_load3(path, nil, nil, flags) else {
            throw SeqIOError(.unreadable, file: path, createIndex
                ? "cannot build or load the FASTA index (.fai/.gzi); is the file plain or bgzip-compressed FASTA?"
                : "no FASTA index (.fai); run 'samtools faidx \(path)' or allow index creation")
        }
        self.fai = fai
        var list: [Contig] = []
        for i in 0..<faidx_nseq(fai) {
            let name = String(cString: faidx_iseq(fai, i))
            list.append(Contig(name: name, length: Int(faidx_seq_len(fai, name))))
        }
        contigs = list
        lengths = Dictionary(list.map { ($0.name, $0.length) }, uniquingKeysWith: { a, _ in a })
        unfetchable = Self.contigsWithoutLineGeometry(indexPath: path + ".fai")
    }

    /// Contigs whose index entry gives no usable line layout (bases per line 0, or more bases than bytes per
    /// line), which faidx would divide by or read past when fetching. htslib builds such entries itself for a
    /// contig whose first sequence line holds no bases (e.g. only bytes that are not letters).
    private let unfetchable: Set<String>

    /// Reads the `.fai` text (`name length offset bases-per-line bytes-per-line`) for `unfetchable`.
    private static func contigsWithoutLineGeometry(indexPath: String) -> Set<String> {
        guard let data = FileManager.default.contents(atPath: indexPath) else { return [] }
        var bad: Set<String> = []
        for line in data.split(separator: 0x0A) {
            let fields = line.split(separator: 0x09, omittingEmptySubsequences: false)
            guard fields.count >= 5 else { continue }
            let number = { (i: Int) in Int(String(decoding: fields[i], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
            guard let length = number(1), length > 0 else { continue }
            if let bases = number(3), let bytes = number(4), bases > 0, bytes >= bases { continue }
            bad.insert(String(decoding: fields[0], as: UTF8.self))
        }
        return bad
    }

    deinit { fai_destroy(fai) }

    /// Length of `contig`, or `nil` when it is not in the index.
    public func length(of contig: String) -> Int? { lengths[contig] }

    /// The bases of `region` (0-based half-open; an open end means the contig's end), as
    /// stored in the FASTA (case kept). The caller owns the returned array.
    /// - Throws: `SeqIOError` `.unknownContig`, `.invalidRegion` (start > end or end past the
    ///   contig), `.truncated` (read error in the FASTA).
    public func fetch(_ region: Region) throws -> [UInt8] {
        guard let length = lengths[region.contig] else {
            throw SeqIOError(.unknownContig, file: path, "unknown contig '\(region.contig)'")
        }
        let end = region.end ?? length
        guard region.start >= 0, region.start <= end, end <= length else {
            throw SeqIOError(.invalidRegion, file: path,
                             "region \(region.contig):\(region.start)-\(end) (0-based) is outside 0-\(length)")
        }
        if region.start == end { return [] }
        guard !unfetchable.contains(region.contig) else {
            throw SeqIOError(.malformed, file: path, "contig '\(region.contig)': its index entry (.fai) has no valid line "
                             + "layout (0 bases per line, or more than bytes per line): the first sequence line holds no bases")
        }
        var fetched: hts_pos_t = 0
        // faidx takes 0-based inclusive coordinates.
        guard let p = faidx_fetch_seq64(fai, region.contig, hts_pos_t(region.start), hts_pos_t(end - 1), &fetched),
              fetched == end - region.start else {
            throw SeqIOError(.truncated, file: path, "cannot read \(region.contig):\(region.start + 1)-\(end); is the index stale?")
        }
        defer { free(p) }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: Int(fetched)))
    }

    /// Parses samtools region syntax against this FASTA's contigs and fetches it.
    public func fetch(_ region: String) throws -> [UInt8] {
        try fetch(Region.parse(region, contigs: contigs, source: path))
    }
}
