import SeqIO

/// One soft-clipped read base placed on the reference: the aligned part of the read continued
/// without gaps into its clip.
struct RescuedBase: Equatable {
    /// 0-based reference position.
    var position: Int
    var base: UInt8
    var quality: UInt8
    /// 0-based position in the read (stored orientation).
    var queryPosition: Int
}

/// Evidence from soft-clipped read ends.
///
/// Where a read enters a cluster of SNPs (a diverged or recombined segment, a run of adjacent
/// substitutions), the aligner clips its end rather than pay for several mismatches in a row, so the
/// variant bases are in no aligned column and the site looks covered by few reads. Continuing the
/// alignment without gaps into the clip puts those bases back on the reference. A clip that comes
/// from an insertion, a structural breakpoint or adapter sequence does not fit the reference
/// ungapped: about three in four of its bases mismatch, and such clips are left out.
enum SoftClipRescue {
    /// Clips shorter than this carry too little to judge whether they fit the reference.
    static let minClip = 4
    /// Only the clipped bases nearest the aligned part are placed (beyond them an ungapped placement
    /// drifts off after any indel).
    static let maxPlaced = 40
    /// Clips whose placed bases mismatch the reference more often than this are not placed.
    static let maxMismatchFraction = 0.45

    /// The placed bases of both clips of one read.
    /// - Parameters:
    ///   - position: 0-based reference position of the first aligned base.
    ///   - referenceLength: reference positions the aligned part spans (CIGAR M, D, N, =, X).
    ///   - leadingClip / trailingClip: soft-clipped bases at the start and end of the stored read.
    ///   - sequence / qualities: the read's bases (ASCII) and Phred qualities, stored orientation.
    ///   - reference: the reference base at a 0-based position (upper case), `nil` outside the known window.
    /// - Returns: the bases with base quality at least `minBaseQuality`, in read order; nothing for a
    ///   clip shorter than `minClip` or one that does not fit.
    static func place(position: Int, referenceLength: Int, leadingClip: Int, trailingClip: Int, sequence: [UInt8],
                      qualities: [UInt8], minBaseQuality: Int, reference: (Int) -> UInt8?) -> [RescuedBase] {
        guard sequence.count == qualities.count, leadingClip + trailingClip <= sequence.count else { return [] }
        var out: [RescuedBase] = []
        if leadingClip >= minClip {
            // Query [0, leadingClip) ends at reference position − 1.
            let n = min(leadingClip, maxPlaced)
            out += placed(query: (leadingClip - n)..<leadingClip, referenceStart: position - n, sequence: sequence,
                          qualities: qualities, minBaseQuality: minBaseQuality, reference: reference)
        }
        if trailingClip >= minClip {
            // Starts right after the last aligned reference base.
            let start = sequence.count - trailingClip
            out += placed(query: start..<(start + min(trailingClip, maxPlaced)), referenceStart: position + referenceLength,
                          sequence: sequence, qualities: qualities, minBaseQuality: minBaseQuality, reference: reference)
        }
        return out
    }

    /// Query range `q` laid on the reference from `referenceStart`, or nothing when it does not fit.
    private static func placed(query q: Range<Int>, referenceStart: Int, sequence: [UInt8], qualities: [UInt8],
                               minBaseQuality: Int, reference: (Int) -> UInt8?) -> [RescuedBase] {
        guard q.upperBound <= sequence.count else { return [] }
        var bases: [RescuedBase] = []
        var compared = 0, mismatches = 0
        for (k, i) in q.enumerated() {
            guard let r = reference(referenceStart + k) else { continue }
            let b = IndelNormalizer.upper(sequence[i])
            guard b != UInt8(ascii: "N"), r != UInt8(ascii: "N") else { continue }
            compared += 1
            if b != r { mismatches += 1 }
            if Int(qualities[i]) >= minBaseQuality {
                bases.append(RescuedBase(position: referenceStart + k, base: b, quality: qualities[i], queryPosition: i))
            }
        }
        guard compared >= minClip, Double(mismatches) <= maxMismatchFraction * Double(compared) else { return [] }
        return bases
    }
}
