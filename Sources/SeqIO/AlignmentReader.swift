import CHTSLib

/// Streams SAM, BAM or CRAM records through htslib (`-` for stdin), whole-file or over a
/// region with the file's index (`.bai`, `.csi` or `.crai`).
///
/// Not thread-safe; use one reader per thread.
public final class AlignmentReader {
    /// The path as given; used in error messages.
    public let path: String
    /// `.sam`, `.bam` or `.cram`, detected from the content.
    public let format: FileFormat
    public let compression: Compression
    /// Header contigs (`@SQ`) in tid order.
    public let contigs: [Contig]
    /// Distinct sample names (`SM` of the `@RG` lines), in header order; empty when no read group names one.
    public let sampleNames: [String]
    let contigNames: [String]

    let file: UnsafeMutablePointer<htsFile>
    let header: UnsafeMutablePointer<sam_hdr_t>
    private var index: OpaquePointer?
    private var indexLoaded = false
    private var iterator: UnsafeMutablePointer<hts_itr_t>?
    /// Records returned so far (by `next()` or internal counting).
    public private(set) var recordCount = 0

    /// Opens an alignment file and reads its header.
    /// - Parameters:
    ///   - reference: FASTA (with `.fai`) for decoding CRAM; without it htslib uses the
    ///     header's `UR`/`M5` tags and `REF_PATH`. Ignored for SAM/BAM.
    ///   - threads: extra decompression threads (BGZF blocks / CRAM slices).
    /// - Throws: `SeqIOError` `.unreadable`, `.unsupportedFormat` (not SAM/BAM/CRAM),
    ///   `.truncated` (BAM/CRAM whose end-of-file marker is missing), `.malformed` (bad header).
    public convenience init(path: String, reference: String? = nil, threads: Int = 0) throws {
        if path != "-" {
            if mdna_is_directory(path) != 0 { throw SeqIOError(.unreadable, file: path, "is a directory") }
            mdna_set_errno(0)
            if mdna_readable(path) == 0 { throw SeqIOError(.unreadable, file: path, "cannot open: \(systemErrorText())") }
        }
        try self.init(taking: openHFile(path), path: path, reference: reference, threads: threads)
    }

    /// Takes ownership of `h` (closed on error too).
    init(taking h: UnsafeMutablePointer<hFILE>, path: String, reference: String?, threads: Int) throws {
        self.path = path
        mdna_set_errno(0)
        guard let fp = hts_hopen(h, path, "r") else {
            _ = hclose(h)
            throw SeqIOError(.unreadable, file: path, "cannot open: \(systemErrorText())")
        }
        let fmt = hts_get_format(fp)!.pointee
        format = FileFormat(fmt.format)
        compression = Compression(fmt.compression)
        guard format.isAlignment else {
            _ = hts_close(fp)
            let what = format == .other || format == .empty ? "an unrecognised or empty file" : format.rawValue
            throw SeqIOError(.unsupportedFormat, file: path, "not SAM/BAM/CRAM (\(what))")
        }
        // A BAM or CRAM cut at a block/container boundary reads cleanly to the cut; only the
        // missing end-of-file marker shows it (2 = stdin, not checkable; 3 = plain SAM).
        if format != .sam || compression == .bgzf, hts_check_EOF(fp) == 0 {
            _ = hts_close(fp)
            throw SeqIOError(.truncated, file: path, "truncated \(format.rawValue) file: the end-of-file marker is missing")
        }
        if let reference, format == .cram {
            if hts_set_fai_filename(fp, reference) != 0 {
                _ = hts_close(fp)
                throw SeqIOError(.unreadable, file: reference, "cannot use as CRAM reference (missing FASTA or .fai?)")
            }
        }
        if threads > 0 { _ = hts_set_threads(fp, Int32(threads)) }
        guard let h = sam_hdr_read(fp) else {
            _ = hts_close(fp)
            throw SeqIOError(.malformed, file: path, "cannot read the \(format.rawValue) header (truncated or corrupt)")
        }
        var list: [Contig] = []
        for tid in 0..<max(0, sam_hdr_nref(h)) {
            list.append(Contig(name: String(cString: mdna_sam_hdr_tid2name(h, tid)), length: Int(mdna_sam_hdr_tid2len(h, tid))))
        }
        // htslib takes LN up to 2^63 - 1; code that adds the lengths up (`info`, the balanced parts of `annotate`)
        // needs their total, with room to spare, inside an Int.
        var total = 0
        for c in list {
            let (sum, overflow) = total.addingReportingOverflow(c.length)
            guard c.length >= 0, !overflow, sum <= Self.maxTotalLength else {
                sam_hdr_destroy(h)
                _ = hts_close(fp)
                throw SeqIOError(.malformed, file: path, c.length < 0
                    ? "header contig '\(c.name)' has a negative length (LN:\(c.length))"
                    : "header contig lengths (LN) add up to more than 2^62 (at contig '\(c.name)', LN:\(c.length))")
            }
            total = sum
        }
        file = fp
        header = h
        contigs = list
        contigNames = list.map(\.name)
        sampleNames = sam_hdr_str(h).map { Self.sampleNames(headerText: String(cString: $0)) } ?? []
    }

    /// The most the header's contig lengths may add up to: 2^62 bases.
    static let maxTotalLength = 1 << 62

    /// Distinct `SM` values of the `@RG` lines of SAM header text, in order.
    static func sampleNames(headerText: String) -> [String] {
        var names: [String] = []
        for line in headerText.split(separator: "\n") where line.hasPrefix("@RG\t") {
            for field in line.split(separator: "\t") where field.hasPrefix("SM:") {
                let name = String(field.dropFirst(3))
                if !name.isEmpty && !names.contains(name) { names.append(name) }
            }
        }
        return names
    }

    deinit {
        if let iterator { mdna_sam_itr_destroy(iterator) }
        if let index { hts_idx_destroy(index) }
        sam_hdr_destroy(header)
        _ = hts_close(file)
    }

    /// Whether an index (`.bai`/`.csi`/`.crai` next to the file) was found. Loads it once.
    public var hasIndex: Bool { loadIndex() != nil }

    private func loadIndex() -> OpaquePointer? {
        if !indexLoaded {
            indexLoaded = true
            if path != "-" { index = sam_index_load3(file, path, nil, Int32(HTS_IDX_SILENT_FAIL)) }
        }
        return index
    }

    /// Restricts `next()` to records overlapping `region` (0-based half-open; open end =
    /// contig end), using the index. Replaces any earlier query.
    /// - Throws: `SeqIOError` `.missingIndex`, `.unknownContig`, `.invalidRegion`.
    public func query(_ region: Region) throws {
        guard let idx = loadIndex() else {
            throw SeqIOError(.missingIndex, file: path,
                             "no index (.bai/.csi/.crai) for region \(region); run 'samtools index \(path)'")
        }
        let tid = sam_hdr_name2tid(header, region.contig)
        guard tid >= 0 else {
            throw SeqIOError(.unknownContig, file: path, "region \(region): unknown contig '\(region.contig)'")
        }
        let length = contigs[Int(tid)].length
        let end = min(region.end ?? length, length)
        guard region.start >= 0, region.start <= end else {
            throw SeqIOError(.invalidRegion, file: path, "region \(region) is outside \(region.contig) (length \(length))")
        }
        if let iterator { mdna_sam_itr_destroy(iterator) }
        iterator = sam_itr_queryi(idx, tid, hts_pos_t(region.start), hts_pos_t(end))
        guard iterator != nil else {
            throw SeqIOError(.invalidRegion, file: path, "cannot query region \(region)")
        }
    }

    /// Parses samtools region syntax (1-based inclusive) against the header, then queries it.
    public func query(_ region: String) throws {
        let parsed = try Region.parse(region, contigs: contigs, source: path)
        try query(parsed)
    }

    /// The next record (of the current query, if any), or `nil` at the end.
    /// - Throws: `SeqIOError` `.truncated` when htslib fails to decode a record.
    public func next() throws -> AlignmentRecord? {
        guard let b = bam_init1() else { return nil }
        let more: Bool
        do { more = try read(into: b) } catch {
            bam_destroy1(b)
            throw error
        }
        guard more else {
            bam_destroy1(b)
            return nil
        }
        return AlignmentRecord(taking: b, contigNames: contigNames)
    }

    /// Reads the next record into `b` (reused by callers that do not keep records).
    func read(into b: UnsafeMutablePointer<bam1_t>) throws -> Bool {
        let r = iterator.map { mdna_sam_itr_next(file, $0, b) } ?? sam_read1(file, header, b)
        if r >= 0 {
            recordCount += 1
            // htslib checks a SAM line's contig against the header, not a BAM record's index.
            let core = b.pointee.core
            for (what, index) in [("contig", core.tid), ("mate contig", core.mtid)] where index < -1 || Int(index) >= contigNames.count {
                throw SeqIOError(.malformed, file: path, "record \(recordCount) has \(what) index \(index), but the header lists "
                                 + "\(contigNames.count) contig\(contigNames.count == 1 ? "" : "s")")
            }
            return true
        }
        if r == -1 { return false }
        if format == .cram && hts_check_EOF(file) != 0 {
            // An intact CRAM that fails to decode is nearly always missing its reference.
            throw SeqIOError(.truncated, file: path,
                             "cannot decode CRAM record \(recordCount + 1): reference sequence not found or not matching (give the reference FASTA) or data corrupt")
        }
        throw SeqIOError(.truncated, file: path,
                         "truncated or corrupt \(format.rawValue) data after record \(recordCount)")
    }
}
