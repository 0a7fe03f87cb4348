import CHTSLib

/// Which reads and bases a pileup counts. The defaults are those of `samtools mpileup`
/// (flag mask UNMAP|SECONDARY|QCFAIL|DUP, min base quality 13, anomalous pairs skipped).
public struct PileupFilter: Sendable {
    /// Reads with any of these flags are skipped.
    public var excludeFlags: AlignmentFlags = [.unmapped, .secondary, .qcFail, .duplicate]
    /// Reads with a lower MAPQ are skipped.
    public var minMappingQuality = 0
    /// Entries whose base quality is lower are left out of columns (for a deletion, the
    /// quality of the read base after it, as samtools does).
    public var minBaseQuality = 13
    /// Keep paired reads that are not properly paired (samtools mpileup `-A`).
    public var includeAnomalousPairs = false
    /// At most this many reads per position enter the pileup (htslib's cap).
    public var maxDepth = 1_000_000

    public init() {}
}

/// One read at one pileup position.
public struct PileupEntry: Sendable, Equatable {
    /// The read's base (ASCII, stored orientation) at this position; `*` for a deletion,
    /// `>` for a reference skip (`N`).
    public var base: UInt8
    /// Phred base quality (for deletions: of the next read base).
    public var quality: UInt8
    public var isReverse: Bool
    public var mappingQuality: Int
    /// 0-based position in the read's stored sequence.
    public var queryPosition: Int
    public var isDeletion: Bool
    public var isRefSkip: Bool
    /// First / last aligned base of the read (samtools `^` / `$`).
    public var isHead: Bool
    public var isTail: Bool
    /// Indel after this position: > 0 inserted bases, < 0 deleted reference bases, 0 none.
    public var indel: Int
    /// The inserted bases when `indel > 0`.
    public var insertedBases: [UInt8]
    public var flags: AlignmentFlags
    /// Whole-read facts of the entry's read, computed once when the read entered the pileup;
    /// `nil` unless the pileup was built with `readSummaries: true`.
    public var readSummary: ReadSummary? = nil
}

/// All reads covering one reference position.
public struct PileupColumn: Sendable {
    public var contig: String
    public var tid: Int
    /// 0-based reference position.
    public var position: Int
    /// Reads passing the filters (depth = `entries.count`).
    public var entries: [PileupEntry]
    public var depth: Int { entries.count }
}

/// Per-position columns of an alignment file, built by htslib's pileup engine
/// (`bam_plp_init` + `bam_plp_auto`) over a region (index needed) or the whole file.
/// Columns come in coordinate order; the file must be coordinate-sorted.
public final class Pileup {
    private let reader: AlignmentReader
    private let filter: PileupFilter
    private let region: Region?
    private var engine: bam_plp_t?
    private let context: ReadContext
    private let readSummaries: Bool

    /// State the C read callback needs; passed through htslib's `void *data`.
    final class ReadContext {
        let reader: AlignmentReader
        let filter: PileupFilter
        var error: Error?
        init(reader: AlignmentReader, filter: PileupFilter) {
            self.reader = reader
            self.filter = filter
        }
    }

    /// Builds a pileup over `region` (0-based half-open; `nil` = the whole file) of `reader`.
    /// The reader must not be used elsewhere while the pileup runs.
    /// - Parameter readSummaries: also compute each read's `ReadSummary` (edit distance, clipping,
    ///   alignment-score margin, pairing, split) once, when the read enters the pileup, and set it
    ///   as `PileupEntry.readSummary` on all of the read's entries. Columns are the same either way.
    /// - Throws: as `AlignmentReader.query` (missing index, unknown contig, bad range).
    public init(reader: AlignmentReader, region: Region? = nil, filter: PileupFilter = PileupFilter(),
                readSummaries: Bool = false) throws {
        self.reader = reader
        self.filter = filter
        self.readSummaries = readSummaries
        if let region {
            let length = reader.contigs.first { $0.name == region.contig }?.length ?? 0
            try reader.query(region)
            self.region = region.clamped(toLength: length)
        } else {
            self.region = nil
        }
        context = ReadContext(reader: reader, filter: filter)
        engine = bam_plp_init(pileupReadCallback, Unmanaged.passUnretained(context).toOpaque())
        bam_plp_set_maxcnt(engine, Int32(clamping: filter.maxDepth))
        if readSummaries { bam_plp_constructor(engine, pileupReadSummaryConstructor) }
    }

    deinit { if let engine { bam_plp_destroy(engine) } }

    /// The next column with at least one entry after filtering, or `nil` at the end.
    /// - Throws: `SeqIOError.truncated` when reading the file fails.
    public func next() throws -> PileupColumn? {
        guard let engine else { return nil }
        var tid: Int32 = 0, pos: hts_pos_t = 0
        var n: Int32 = 0
        while true {
            let plp = bam_plp64_auto(engine, &tid, &pos, &n)
            if let error = context.error { self.engine = nil; bam_plp_destroy(engine); throw error }
            guard let plp, n >= 0 else { return nil }
            let position = Int(pos)
            if let region {
                if position < region.start { continue }
                // Reads from the iterator may extend past the region; nothing after it counts.
                if position >= region.end! { return nil }
            }
            var entries: [PileupEntry] = []
            entries.reserveCapacity(Int(n))
            let letters = nt16Letters
            for i in 0..<n {
                let p = mdna_plp_at(plp, i)!
                if let e = entry(p, letters: letters) { entries.append(e) }
            }
            if entries.isEmpty { continue }
            return PileupColumn(contig: reader.contigNames[Int(tid)], tid: Int(tid), position: position, entries: entries)
        }
    }

    @inline(__always)
    private func entry(_ p: UnsafePointer<bam_pileup1_t>, letters nt16Letters: [UInt8]) -> PileupEntry? {
        let b = mdna_pileup_b(p)!
        let qpos = Int(p.pointee.qpos)
        let length = Int(b.pointee.core.l_qseq)
        let quals = mdna_bam_get_qual(b)!
        let quality: UInt8 = qpos < length ? quals[qpos] : 0
        if Int(quality) < filter.minBaseQuality { return nil }
        let isDel = mdna_plp_is_del(p) != 0, isSkip = mdna_plp_is_refskip(p) != 0
        let seq = mdna_bam_get_seq(b)!
        let base: UInt8
        if isSkip { base = UInt8(ascii: ">") }
        else if isDel { base = UInt8(ascii: "*") }
        else { base = nt16Letters[Int(mdna_bam_seqi(seq, Int32(qpos)))] }
        let indel = Int(p.pointee.indel)
        var inserted: [UInt8] = []
        if indel > 0 {
            inserted = (1...indel).map { nt16Letters[Int(mdna_bam_seqi(seq, Int32(qpos + $0)))] }
        }
        let flag = AlignmentFlags(rawValue: b.pointee.core.flag)
        return PileupEntry(base: base, quality: quality, isReverse: flag.contains(.reverse),
                           mappingQuality: Int(b.pointee.core.qual), queryPosition: qpos,
                           isDeletion: isDel, isRefSkip: isSkip,
                           isHead: mdna_plp_is_head(p) != 0, isTail: mdna_plp_is_tail(p) != 0,
                           indel: indel, insertedBases: inserted, flags: flag,
                           readSummary: readSummaries ? ReadSummary(packed: p.pointee.cd.i) : nil)
    }
}

/// htslib's read callback: the next record that passes the read filters; < 0 ends the pileup.
private let pileupReadCallback: bam_plp_auto_f = { data, b in
    let context = Unmanaged<Pileup.ReadContext>.fromOpaque(data!).takeUnretainedValue()
    let filter = context.filter
    let exclude = filter.excludeFlags.rawValue
    while true {
        do {
            guard try context.reader.read(into: b!) else { return -1 }
        } catch {
            context.error = error
            return -2
        }
        let core = b!.pointee.core
        if core.flag & exclude != 0 { continue }
        if Int(core.qual) < filter.minMappingQuality { continue }
        if !filter.includeAnomalousPairs && core.flag & 0x1 != 0 && core.flag & 0x2 == 0 { continue }
        return 0
    }
}

/// htslib's per-read constructor (called once as a read enters the pileup): stores the read's
/// packed `ReadSummary` in its pileup slot (`bam_pileup_cd`), which every entry of the read carries.
private let pileupReadSummaryConstructor: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<bam1_t>?,
                                                          UnsafeMutablePointer<bam_pileup_cd>?) -> Int32 = { _, b, cd in
    cd!.pointee.i = ReadSummary(b!).packed
    return 0
}
