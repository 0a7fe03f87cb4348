import CHTSLib
import SeqIO

/// What the candidate features need to know about a whole read (not only its base at one column):
/// how well it fits where the aligner put it. Computed once per read when it enters the pileup and
/// packed into htslib's per-read slot (`bam_pileup_cd`).
struct ReadSummary: Equatable {
    /// Edit distance to the reference (`NM`; from the CIGAR's indels when absent), capped at 255.
    var editDistance: Int
    /// Soft-clipped bases at both ends, capped at 255.
    var softClipped: Int
    /// `AS` − `XS` (bwa: best minus second-best alignment score), capped to 0…254; 255 when the read
    /// has no `XS` (no second hit) or no `AS`.
    var scoreMargin: Int
    /// Paired and not properly paired (mate elsewhere, wrong orientation or insert size).
    var discordant: Bool
    /// Has a supplementary (`SA`) part: a chimeric or split alignment.
    var split: Bool

    static let noMargin = 255

    init(editDistance: Int, softClipped: Int, scoreMargin: Int, discordant: Bool, split: Bool) {
        self.editDistance = editDistance; self.softClipped = softClipped; self.scoreMargin = scoreMargin
        self.discordant = discordant; self.split = split
    }

    init(_ b: UnsafePointer<bam1_t>) {
        let n = Int(b.pointee.core.n_cigar)
        var clip = 0, indelBases = 0
        if n > 0, let c = mdna_bam_get_cigar(b) {
            for i in 0..<n {
                let op = mdna_bam_cigar_op(c[i]), len = Int(mdna_bam_cigar_oplen(c[i]))
                if op == 4 { clip += len }                      // BAM_CSOFT_CLIP
                else if op == 1 || op == 2 { indelBases += len } // BAM_CINS, BAM_CDEL
            }
        }
        func int(_ tag: String) -> Int? {
            guard let p = bam_aux_get(b, tag) else { return nil }
            switch p[0] {
            case UInt8(ascii: "c"), UInt8(ascii: "C"), UInt8(ascii: "s"), UInt8(ascii: "S"),
                 UInt8(ascii: "i"), UInt8(ascii: "I"): return Int(bam_aux2i(p))
            default: return nil
            }
        }
        let flag = b.pointee.core.flag
        editDistance = min(255, max(0, int("NM") ?? indelBases))
        softClipped = min(255, clip)
        if let a = int("AS"), let x = int("XS") { scoreMargin = min(254, max(0, a - x)) } else { scoreMargin = Self.noMargin }
        discordant = flag & 0x1 != 0 && flag & 0x2 == 0
        split = bam_aux_get(b, "SA") != nil
    }

    var packed: Int64 {
        Int64(editDistance) | Int64(softClipped) << 8 | Int64(scoreMargin) << 16
            | (discordant ? 1 << 24 : 0) | (split ? 1 << 25 : 0)
    }

    init(packed v: Int64) {
        editDistance = Int(v & 0xFF); softClipped = Int((v >> 8) & 0xFF); scoreMargin = Int((v >> 16) & 0xFF)
        discordant = v & (1 << 24) != 0; split = v & (1 << 25) != 0
    }
}

/// One read at one column (the fields of SeqIO's `PileupEntry` the scanner reads), with its `ReadSummary`.
struct ReadPileupEntry {
    /// The read's base (ASCII); `*` for a deletion, `>` for a reference skip.
    var base: UInt8
    var quality: UInt8
    var isReverse: Bool
    var mappingQuality: Int
    var queryPosition: Int
    var isDeletion: Bool
    var isRefSkip: Bool
    /// Indel after this position: > 0 inserted bases, < 0 deleted reference bases, 0 none.
    var indel: Int
    var insertedBases: [UInt8]
    var read: ReadSummary
}

/// htslib's pileup engine over one region of an indexed alignment file, like SeqIO's `Pileup`, but
/// each entry also carries whole-read evidence (`ReadSummary`: edit distance, clipping, second-hit
/// score margin, pairing), which separates reads that belong elsewhere in the genome (paralogs,
/// diverged or recombined segments) from reads that carry a real variant.
final class ReadPileup {
    private let file: UnsafeMutablePointer<htsFile>
    private let header: UnsafeMutablePointer<sam_hdr_t>
    private let index: OpaquePointer
    private var iterator: UnsafeMutablePointer<hts_itr_t>?
    private var engine: bam_plp_t?
    private let context: Context
    private let region: Region

    final class Context {
        let file: UnsafeMutablePointer<htsFile>
        var iterator: UnsafeMutablePointer<hts_itr_t>?
        let filter: PileupFilter
        var failed = false
        init(file: UnsafeMutablePointer<htsFile>, filter: PileupFilter) { self.file = file; self.filter = filter }
    }

    /// Opens `path` (with `reference` for CRAM) and starts a pileup over `region` (0-based half-open, end set).
    /// - Throws: `VariantError` when the file, its header or its index cannot be read, or the contig is unknown.
    init(path: String, reference: String, region: Region, filter: PileupFilter) throws {
        guard let fp = hts_open(path, "r") else { throw VariantError(file: path, "cannot open") }
        if hts_get_format(fp)!.pointee.format == cram { _ = hts_set_fai_filename(fp, reference) }
        guard let hdr = sam_hdr_read(fp) else { _ = hts_close(fp); throw VariantError(file: path, "cannot read the header") }
        guard let idx = sam_index_load(fp, path) else {
            sam_hdr_destroy(hdr); _ = hts_close(fp)
            throw VariantError(file: path, "no index (.bai/.csi/.crai); run 'samtools index \(path)'")
        }
        file = fp; header = hdr; index = idx
        self.region = region
        let tid = sam_hdr_name2tid(hdr, region.contig)
        context = Context(file: fp, filter: filter)
        guard tid >= 0, let itr = sam_itr_queryi(idx, tid, hts_pos_t(region.start), hts_pos_t(region.end!)) else {
            throw VariantError(file: path, "cannot query region \(region)")
        }
        iterator = itr
        context.iterator = itr
        engine = bam_plp_init(readPileupCallback, Unmanaged.passUnretained(context).toOpaque())
        bam_plp_set_maxcnt(engine, Int32(clamping: filter.maxDepth))
        bam_plp_constructor(engine, readPileupConstructor)
    }

    deinit {
        if let engine { bam_plp_destroy(engine) }
        if let iterator { mdna_sam_itr_destroy(iterator) }
        hts_idx_destroy(index)
        sam_hdr_destroy(header)
        _ = hts_close(file)
    }

    /// The next column inside the region with at least one entry after filtering, or `nil` at the end.
    /// - Throws: `VariantError` when the file cannot be decoded.
    func next() throws -> (position: Int, entries: [ReadPileupEntry])? {
        guard let engine else { return nil }
        var tid: Int32 = 0, pos: hts_pos_t = 0, n: Int32 = 0
        let minQ = context.filter.minBaseQuality
        while true {
            let plp = bam_plp64_auto(engine, &tid, &pos, &n)
            if context.failed { throw VariantError(file: String(cString: file.pointee.fn), "truncated or corrupt alignment data") }
            guard let plp, n >= 0 else { return nil }
            let position = Int(pos)
            if position < region.start { continue }
            if position >= region.end! { return nil }
            var entries: [ReadPileupEntry] = []
            entries.reserveCapacity(Int(n))
            for i in 0..<n {
                let p = mdna_plp_at(plp, i)!
                let b = mdna_pileup_b(p)!
                let qpos = Int(p.pointee.qpos)
                let length = Int(b.pointee.core.l_qseq)
                let quality: UInt8 = qpos < length ? mdna_bam_get_qual(b)![qpos] : 0
                if Int(quality) < minQ { continue }
                let isDel = mdna_plp_is_del(p) != 0, isSkip = mdna_plp_is_refskip(p) != 0
                let seq = mdna_bam_get_seq(b)!
                let base: UInt8 = isSkip ? UInt8(ascii: ">") : isDel ? UInt8(ascii: "*")
                    : Self.letters[Int(mdna_bam_seqi(seq, Int32(qpos)))]
                let indel = Int(p.pointee.indel)
                var inserted: [UInt8] = []
                if indel > 0 { inserted = (1...indel).map { Self.letters[Int(mdna_bam_seqi(seq, Int32(qpos + $0)))] } }
                entries.append(ReadPileupEntry(base: base, quality: quality, isReverse: b.pointee.core.flag & 0x10 != 0,
                                               mappingQuality: Int(b.pointee.core.qual), queryPosition: qpos,
                                               isDeletion: isDel, isRefSkip: isSkip, indel: indel, insertedBases: inserted,
                                               read: ReadSummary(packed: p.pointee.cd.i)))
            }
            if entries.isEmpty { continue }
            return (position, entries)
        }
    }

    static let letters: [UInt8] = Array("=ACMGRSVTWYHKDBN".utf8)
}

/// Read callback: the next record of the region passing the read filters; < 0 ends the pileup.
private let readPileupCallback: bam_plp_auto_f = { data, b in
    let context = Unmanaged<ReadPileup.Context>.fromOpaque(data!).takeUnretainedValue()
    let filter = context.filter
    let exclude = filter.excludeFlags.rawValue
    while true {
        let r = mdna_sam_itr_next(context.file, context.iterator, b!)
        if r < -1 { context.failed = true; return -2 }
        if r < 0 { return -1 }
        let core = b!.pointee.core
        if core.flag & exclude != 0 { continue }
        if Int(core.qual) < filter.minMappingQuality { continue }
        if !filter.includeAnomalousPairs && core.flag & 0x1 != 0 && core.flag & 0x2 == 0 { continue }
        return 0
    }
}

/// Per-read constructor: stores the read's packed `ReadSummary` in its pileup slot.
private let readPileupConstructor: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<bam1_t>?,
                                                   UnsafeMutablePointer<bam_pileup_cd>?) -> Int32 = { _, b, cd in
    cd!.pointee.i = ReadSummary(b!).packed
    return 0
}
