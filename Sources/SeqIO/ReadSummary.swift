import CHTSLib

/// Whole-read facts about an alignment (not only its base at one position): how well the read fits
/// where the aligner put it. `Pileup` computes one per read, once, when the read enters the pileup
/// (see `Pileup.init(reader:region:filter:readSummaries:)`), and attaches it to every entry of that read.
///
/// Values are capped so that a summary fits in htslib's per-read pileup slot (`bam_pileup_cd`).
public struct ReadSummary: Sendable, Equatable {
    private var editDistance8: UInt8
    private var softClipped8: UInt8
    private var scoreMargin8: UInt8
    /// Paired (`0x1`) and not properly paired (`0x2` unset): mate elsewhere, wrong orientation or
    /// insert size.
    public var discordant: Bool
    /// Has an `SA` tag: part of a chimeric (split) alignment.
    public var split: Bool

    /// `scoreMargin` of a read without a second hit (`XS`) or without an `AS` tag.
    public static let noMargin = 255

    /// Edit distance to the reference: the `NM` tag, or the inserted plus deleted bases of the
    /// CIGAR when the tag is absent; 0…255 (capped).
    public var editDistance: Int { Int(editDistance8) }
    /// Soft-clipped bases at both ends (CIGAR `S`), 0…255 (capped).
    public var softClipped: Int { Int(softClipped8) }
    /// `AS` − `XS` (aligner's best minus second-best alignment score, as bwa writes them), 0…254
    /// (clamped); `ReadSummary.noMargin` (255) when the read has no `XS` or no `AS`.
    public var scoreMargin: Int { Int(scoreMargin8) }

    /// A summary from given values, clamped to the ranges above.
    public init(editDistance: Int, softClipped: Int, scoreMargin: Int, discordant: Bool, split: Bool) {
        editDistance8 = UInt8(min(255, max(0, editDistance)))
        softClipped8 = UInt8(min(255, max(0, softClipped)))
        scoreMargin8 = UInt8(min(255, max(0, scoreMargin)))
        self.discordant = discordant
        self.split = split
    }

    /// Summarises the record `b` (borrowed; not kept).
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
        let margin: Int
        if let a = int("AS"), let x = int("XS") { margin = min(254, max(0, a - x)) } else { margin = Self.noMargin }
        self.init(editDistance: int("NM") ?? indelBases, softClipped: clip, scoreMargin: margin,
                  discordant: flag & 0x1 != 0 && flag & 0x2 == 0, split: bam_aux_get(b, "SA") != nil)
    }

    /// The summary as one integer, for htslib's per-read pileup slot.
    var packed: Int64 {
        Int64(editDistance8) | Int64(softClipped8) << 8 | Int64(scoreMargin8) << 16
            | (discordant ? 1 << 24 : 0) | (split ? 1 << 25 : 0)
    }

    @inline(__always)
    init(packed v: Int64) {
        editDistance8 = UInt8(v & 0xFF); softClipped8 = UInt8((v >> 8) & 0xFF); scoreMargin8 = UInt8((v >> 16) & 0xFF)
        discordant = v & (1 << 24) != 0; split = v & (1 << 25) != 0
    }
}
