import CHTSLib
import FileOutput

/// SAM flag bits (the FLAG column).
public struct AlignmentFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let paired = AlignmentFlags(rawValue: 0x1)
    public static let properPair = AlignmentFlags(rawValue: 0x2)
    public static let unmapped = AlignmentFlags(rawValue: 0x4)
    public static let mateUnmapped = AlignmentFlags(rawValue: 0x8)
    public static let reverse = AlignmentFlags(rawValue: 0x10)
    public static let mateReverse = AlignmentFlags(rawValue: 0x20)
    public static let read1 = AlignmentFlags(rawValue: 0x40)
    public static let read2 = AlignmentFlags(rawValue: 0x80)
    public static let secondary = AlignmentFlags(rawValue: 0x100)
    public static let qcFail = AlignmentFlags(rawValue: 0x200)
    public static let duplicate = AlignmentFlags(rawValue: 0x400)
    public static let supplementary = AlignmentFlags(rawValue: 0x800)
}

/// One CIGAR operation.
public struct CigarOperation: Sendable, Hashable {
    /// The SAM letter: M I D N S H P = X.
    public var op: UInt8
    public var length: Int
    /// Whether the operation consumes query (read) bases.
    public var consumesQuery: Bool { bam_cigar_type_bits(op) & 1 != 0 }
    /// Whether the operation consumes reference positions.
    public var consumesReference: Bool { bam_cigar_type_bits(op) & 2 != 0 }
}

private func bam_cigar_type_bits(_ letter: UInt8) -> Int32 {
    // Same table as htslib's BAM_CIGAR_TYPE, keyed by the SAM letter.
    switch letter {
    case UInt8(ascii: "M"), UInt8(ascii: "="), UInt8(ascii: "X"): return 3
    case UInt8(ascii: "I"), UInt8(ascii: "S"): return 1
    case UInt8(ascii: "D"), UInt8(ascii: "N"): return 2
    default: return 0
    }
}

/// A value of an optional field (aux tag).
public enum AuxValue: Sendable, Equatable {
    /// Type `A`.
    case character(UInt8)
    /// Types `c C s S i I`.
    case integer(Int64)
    /// Types `f` (and `d`).
    case float(Double)
    /// Types `Z` and `H`.
    case string(String)
    /// Type `B`: numeric arrays, as doubles.
    case array([Double])
}

/// One alignment record. Owns a copy of htslib's `bam1_t`; fields are decoded on access.
///
/// Coordinates are 0-based. Sequence and qualities are in stored orientation (the reference
/// strand for reverse-strand alignments) unless asked for in `originalOrientation`.
public final class AlignmentRecord {
    let b: UnsafeMutablePointer<bam1_t>
    /// The contig name (from the header), `nil` when unplaced (`tid` < 0).
    public let contig: String?
    /// The mate's contig name, `nil` when unplaced.
    public let mateContig: String?

    /// Takes ownership of `b` (freed with the record).
    init(taking b: UnsafeMutablePointer<bam1_t>, contigNames: [String]) {
        self.b = b
        let tid = Int(b.pointee.core.tid), mtid = Int(b.pointee.core.mtid)
        contig = tid >= 0 && tid < contigNames.count ? contigNames[tid] : nil
        mateContig = mtid >= 0 && mtid < contigNames.count ? contigNames[mtid] : nil
    }

    deinit { bam_destroy1(b) }

    /// QNAME.
    /// The read name, its bytes kept (`ByteText`): SAM allows any printable bytes there.
    public var name: String {
        let q = mdna_bam_get_qname(b)!
        return q.withMemoryRebound(to: UInt8.self, capacity: strlen(q) + 1) { ByteText.decode(UnsafeBufferPointer(start: $0, count: strlen(q))) }
    }
    public var flags: AlignmentFlags { AlignmentFlags(rawValue: b.pointee.core.flag) }
    /// Contig index in the header; -1 when unplaced.
    public var tid: Int { Int(b.pointee.core.tid) }
    /// 0-based leftmost reference position; -1 when unplaced.
    public var position: Int { Int(b.pointee.core.pos) }
    /// 0-based exclusive end on the reference (`bam_endpos`): position + reference length of
    /// the CIGAR, or position + 1 for unmapped/CIGAR-less records.
    public var endPosition: Int { Int(bam_endpos(b)) }
    public var mappingQuality: Int { Int(b.pointee.core.qual) }
    /// Mate's contig index and 0-based position (-1 when absent); TLEN.
    public var mateTid: Int { Int(b.pointee.core.mtid) }
    public var matePosition: Int { Int(b.pointee.core.mpos) }
    public var templateLength: Int { Int(b.pointee.core.isize) }
    public var isReverse: Bool { flags.contains(.reverse) }
    public var isMapped: Bool { !flags.contains(.unmapped) }

    /// CIGAR operations; empty for `*`.
    public var cigar: [CigarOperation] {
        let n = Int(b.pointee.core.n_cigar)
        guard n > 0, let c = mdna_bam_get_cigar(b) else { return [] }
        return (0..<n).map { i in
            CigarOperation(op: UInt8(bitPattern: mdna_bam_cigar_opchr(c[i])), length: Int(mdna_bam_cigar_oplen(c[i])))
        }
    }

    /// CIGAR in SAM text form (`*` when absent).
    public var cigarString: String {
        let ops = cigar
        if ops.isEmpty { return "*" }
        var s = ""
        for o in ops { s += String(o.length); s.unicodeScalars.append(Unicode.Scalar(o.op)) }
        return s
    }

    /// Number of stored bases (0 for SEQ `*`).
    public var sequenceLength: Int { Int(b.pointee.core.l_qseq) }

    /// Bases as ASCII (`=ACMGRSVTWYHKDBN`) in stored orientation; empty for SEQ `*`.
    public var sequence: [UInt8] {
        let n = sequenceLength
        guard n > 0, let s = mdna_bam_get_seq(b) else { return [] }
        return [UInt8](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = nt16Letters[Int(mdna_bam_seqi(s, Int32(i)))] }
            count = n
        }
    }

    /// Phred qualities (not ASCII-offset) in stored orientation; `nil` for QUAL `*`.
    public var qualities: [UInt8]? {
        let n = sequenceLength
        guard n > 0, let q = mdna_bam_get_qual(b), q[0] != 0xFF else { return nil }
        return Array(UnsafeBufferPointer(start: q, count: n))
    }

    /// Sequence and qualities as the read came off the instrument: reverse-complemented
    /// (IUPAC-aware, case kept) and reversed when the record is on the reverse strand.
    public var originalOrientation: (sequence: [UInt8], qualities: [UInt8]?) {
        guard isReverse else { return (sequence, qualities) }
        return (reverseComplement(sequence), qualities.map { Array($0.reversed()) })
    }

    /// The value of optional field `tag` (two characters, e.g. "NM"), or `nil` when absent.
    public func aux(_ tag: String) -> AuxValue? {
        guard tag.utf8.count == 2, let p = bam_aux_get(b, tag) else { return nil }
        switch p[0] {
        case UInt8(ascii: "A"): return .character(UInt8(bitPattern: bam_aux2A(p)))
        case UInt8(ascii: "c"), UInt8(ascii: "C"), UInt8(ascii: "s"), UInt8(ascii: "S"),
             UInt8(ascii: "i"), UInt8(ascii: "I"):
            return .integer(bam_aux2i(p))
        case UInt8(ascii: "f"), UInt8(ascii: "d"): return .float(bam_aux2f(p))
        case UInt8(ascii: "Z"), UInt8(ascii: "H"):
            guard let z = bam_aux2Z(p) else { return nil }
            return .string(String(cString: z))
        case UInt8(ascii: "B"):
            let n = bam_auxB_len(p)
            return .array((0..<n).map { bam_auxB2f(p, $0) })
        default: return nil
        }
    }
}

/// The letters of BAM's 4-bit base codes (htslib's `seq_nt16_str`, an incomplete C array).
let nt16Letters: [UInt8] = Array("=ACMGRSVTWYHKDBN".utf8)

/// Reverse complement of ASCII bases (IUPAC codes complemented, case kept, others unchanged).
public func reverseComplement(_ bases: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: bases.count)
    let n = bases.count
    for i in 0..<n { out[n - 1 - i] = complementTable[Int(bases[i])] }
    return out
}

private let complementTable: [UInt8] = {
    var t = (0..<256).map { UInt8($0) }
    let pairs = ["AT", "CG", "RY", "KM", "BV", "DH", "SS", "WW", "NN"]
    for p in pairs {
        let a = p.utf8.first!, b = p.utf8.last!
        t[Int(a)] = b; t[Int(b)] = a
        t[Int(a | 0x20)] = b | 0x20; t[Int(b | 0x20)] = a | 0x20
    }
    return t
}()
