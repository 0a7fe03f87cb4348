/// One alternate allele at one reference position, in VCF form: `position` is the 0-based position
/// of the first REF base (VCF POS − 1); indels carry the padding base before the event, as
/// `bcftools norm` writes them (REF `AT` ALT `A` deletes the `T` at `position + 1`).
public struct Allele: Hashable, Sendable, Comparable {
    /// Index of the contig in the reference.
    public var contig: Int
    /// 0-based position of `ref`'s first base.
    public var position: Int
    /// Reference bases (upper case ASCII).
    public var ref: [UInt8]
    /// Alternate bases (upper case ASCII).
    public var alt: [UInt8]

    public init(contig: Int, position: Int, ref: [UInt8], alt: [UInt8]) {
        self.contig = contig
        self.position = position
        self.ref = ref
        self.alt = alt
    }

    public var isSNP: Bool { ref.count == 1 && alt.count == 1 }
    /// Bases inserted (> 0) or deleted (< 0); 0 for SNPs.
    public var lengthChange: Int { alt.count - ref.count }

    /// Sorted as a VCF: contig, position, then alleles (so SNPs and indels at a site keep one order).
    public static func < (a: Allele, b: Allele) -> Bool {
        if a.contig != b.contig { return a.contig < b.contig }
        if a.position != b.position { return a.position < b.position }
        if a.ref != b.ref { return a.ref.lexicographicallyPrecedes(b.ref) }
        return a.alt.lexicographicallyPrecedes(b.alt)
    }
}

/// Left-alignment of indels on a reference window, as `bcftools norm -f` does for biallelic
/// indels: the event is shifted left while the base before it equals its last base, then written
/// with the preceding base as padding.
public enum IndelNormalizer {
    /// The normalised (position, ref, alt) of an indel whose inserted bases `inserted` (or deleted
    /// count `deleted`) sit between reference positions `at − 1` and `at` (0-based, `at` is the first
    /// deleted base or the base after the insertion). `window` holds reference bases from 0-based
    /// `windowStart`. Returns `nil` when the event reaches the window's (or contig's) first base, where
    /// no padding base exists.
    public static func normalize(at: Int, inserted: [UInt8], deleted: Int, window: UnsafeBufferPointer<UInt8>,
                                 windowStart: Int) -> (position: Int, ref: [UInt8], alt: [UInt8])? {
        func base(_ p: Int) -> UInt8? {
            let i = p - windowStart
            return i >= 0 && i < window.count ? upper(window[i]) : nil
        }
        var s = at
        if deleted > 0 {
            // Deleted span [s, s + deleted): shift while ref[s − 1] == ref[s + deleted − 1].
            while let before = base(s - 1), let last = base(s + deleted - 1), before == last, s - 1 > windowStart {
                s -= 1
            }
            guard let pad = base(s - 1) else { return nil }
            var ref = [pad]
            for p in s..<(s + deleted) { guard let b = base(p) else { return nil }; ref.append(b) }
            return (s - 1, ref, [pad])
        }
        var ins = inserted.map(upper)
        guard !ins.isEmpty else { return nil }
        while let before = base(s - 1), before == ins.last!, s - 1 > windowStart {
            ins.removeLast()
            ins.insert(before, at: 0)
            s -= 1
        }
        guard let pad = base(s - 1) else { return nil }
        return (s - 1, [pad], [pad] + ins)
    }

    @inline(__always) static func upper(_ b: UInt8) -> UInt8 { b >= 97 && b <= 122 ? b - 32 : b }

    /// A reference base as a VCF REF base: upper case, and `N` for IUPAC ambiguity codes and anything
    /// else that is not A/C/G/T (VCF 4.3 allows only A, C, G, T and N in REF).
    @inline(__always) static func referenceBase(_ b: UInt8) -> UInt8 {
        switch upper(b) {
        case UInt8(ascii: "A"), UInt8(ascii: "C"), UInt8(ascii: "G"), UInt8(ascii: "T"): return upper(b)
        default: return UInt8(ascii: "N")
        }
    }
}
