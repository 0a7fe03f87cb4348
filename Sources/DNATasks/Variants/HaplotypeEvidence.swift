/// Read support for indel alleles measured against whole haplotypes rather than pileup columns.
///
/// A read that ends inside or near a long indel is usually soft-clipped by the aligner at the event
/// instead of spanning it with a gap: in the pileup it then shows the reference at the anchor base and
/// is counted against the allele. Here every read overlapping the event is aligned, over its full
/// sequence including its soft clips, to the reference haplotype and to one haplotype per candidate
/// allele of the site (the reference with that allele applied), with a banded affine-gap alignment whose
/// mismatch costs are the base qualities. The read counts for the haplotype it fits best when that fit
/// beats the runner-up by at least `Scoring.margin`; otherwise (it ends before the event, or inside a
/// repeat that both haplotypes share) it counts for none.
///
/// The code knows reads only as sequences, qualities and reference anchors: no files, no pileup.
enum HaplotypeEvidence {
    /// Longest indel (bases) compared this way.
    static let maxIndel = 50
    /// Other indel alleles whose events lie within this many bases become haplotypes of the same comparison.
    static let competitorDistance = 20

    /// Alignment costs in Phred units (a mismatch costs its base quality).
    enum Scoring {
        /// Base qualities are clamped to this range; a missing quality (0xFF, SAM `*`) counts as `unknownQuality`.
        static let minQuality: Int32 = 2, maxQuality: Int32 = 40, unknownQuality: Int32 = 25
        /// A gap of `k` bases costs `gapOpen + k · gapExtend` (indel sequencing errors are rare on Illumina reads).
        static let gapOpen: Int32 = 40, gapExtend: Int32 = 6
        /// Diagonals searched on each side of the read's anchor diagonals (room for other small indels in the read).
        static let bandPadding = 8
        /// Reads whose two anchor diagonals differ by more than this (a spliced `N` gap, a long
        /// indel of their own) are not compared.
        static let maxAnchorShift = 60
        /// A read is assigned when its best haplotype costs at least this much less than the next best:
        /// about one confident base.
        static let margin: Int32 = 20
    }

    /// One read as the haplotype comparison sees it.
    struct Read {
        /// Bases (upper-case ASCII) and Phred qualities of the whole stored read, soft clips included.
        var sequence: [UInt8]
        var qualities: [UInt8]
        /// 0-based reference position of the read's first base with its leading clip laid on ungapped
        /// (alignment position − leading clip).
        var leftStart: Int
        /// 0-based exclusive reference end with its trailing clip laid on ungapped (alignment end + trailing clip).
        var rightEnd: Int
    }

    /// The reference and one haplotype per allele over a reference window.
    struct Haplotypes {
        /// 0-based reference position of `reference[0]`.
        let start: Int
        let reference: [UInt8]
        let alleles: [Allele]
        /// Index 0 is the reference; index k the reference with `alleles[k − 1]` applied.
        let sequences: [[UInt8]]

        /// - Parameter alleles: alleles whose REF lies inside the window (others are dropped).
        init(start: Int, reference: [UInt8], alleles: [Allele]) {
            self.start = start
            self.reference = reference
            let inside = alleles.filter { $0.position >= start && $0.position + $0.ref.count <= start + reference.count }
            self.alleles = inside
            var seqs = [reference]
            for a in inside {
                let i = a.position - start
                seqs.append(Array(reference[..<i]) + a.alt + Array(reference[(i + a.ref.count)...]))
            }
            sequences = seqs
        }

        /// Position on haplotype `h` of 0-based reference position `x` (positions past an allele shift by its length change).
        func map(_ x: Int, haplotype h: Int) -> Int {
            guard h > 0 else { return x - start }
            let a = alleles[h - 1]
            return x >= a.position + a.ref.count ? x - start + a.lengthChange : x - start
        }
    }

    /// The haplotype index (0 = reference, k = `alleles[k − 1]`) that `read` supports, or `nil` when
    /// no haplotype fits clearly better than the others.
    static func assign(_ read: Read, to haps: Haplotypes) -> Int? {
        guard abs(read.rightEnd - read.leftStart - read.sequence.count) <= Scoring.maxAnchorShift else { return nil }
        let costs = self.costs(read, haps)
        guard costs.count >= 2 else { return nil }
        var best = 0
        for h in 1..<costs.count where costs[h] < costs[best] { best = h }
        var second = Int32.max
        for h in costs.indices where h != best { second = min(second, costs[h]) }
        return second - costs[best] >= Scoring.margin ? best : nil
    }

    /// The alignment cost of `read` against every haplotype.
    static func costs(_ read: Read, _ haps: Haplotypes) -> [Int32] {
        let n = read.sequence.count
        return haps.sequences.indices.map { h in
            let d1 = haps.map(read.leftStart, haplotype: h)
            let d2 = haps.map(read.rightEnd, haplotype: h) - n
            return cost(read: read.sequence, qualities: read.qualities, haplotype: haps.sequences[h],
                        diagonals: (min(d1, d2) - Scoring.bandPadding)...(max(d1, d2) + Scoring.bandPadding))
        }
    }

    /// Cheapest alignment of the whole read to any stretch of `haplotype` whose start diagonal
    /// (haplotype index − read index) stays within `diagonals`: mismatches cost the base quality
    /// (`N` on either side costs nothing), gaps `gapOpen + length · gapExtend`. Banded Gotoh.
    static func cost(read: [UInt8], qualities: [UInt8], haplotype: [UInt8], diagonals: ClosedRange<Int>) -> Int32 {
        let n = read.count, m = haplotype.count
        let lo = diagonals.lowerBound, width = diagonals.count
        guard n > 0, width > 0, qualities.count == n else { return 0 }
        let inf = Int32.max / 4
        let open = Scoring.gapOpen + Scoring.gapExtend, extend = Scoring.gapExtend
        let nBase = UInt8(ascii: "N")
        // Row i, band slot k ↔ haplotype prefix length j = i + lo + k. H: best; X: ends in a read base
        // against a gap (insertion in the read); Y: ends in a haplotype base against a gap (deletion).
        var hPrev = [Int32](repeating: inf, count: width + 1), xPrev = hPrev
        var hCur = hPrev, xCur = hPrev
        for k in 0..<width {
            let j = lo + k
            if j >= 0 && j <= m { hPrev[k] = 0 }   // free start anywhere on the haplotype
        }
        return read.withUnsafeBufferPointer { r in
            haplotype.withUnsafeBufferPointer { hp in
                for i in 1...n {
                    let b = r[i - 1]
                    let qRaw = qualities[i - 1]
                    let q = qRaw == 0xFF ? Scoring.unknownQuality
                        : min(Scoring.maxQuality, max(Scoring.minQuality, Int32(qRaw)))
                    var yLeft = inf, hLeft = inf
                    for k in 0..<width {
                        let j = i + lo + k
                        guard j >= 0 && j <= m else { hCur[k] = inf; xCur[k] = inf; yLeft = inf; hLeft = inf; continue }
                        // Diagonal: (i − 1, j − 1) is slot k of the previous row.
                        var best = inf
                        if j >= 1 && hPrev[k] < inf {
                            let a = hp[j - 1]
                            best = hPrev[k] + (a == b || a == nBase || b == nBase ? 0 : q)
                        }
                        // Insertion: (i − 1, j) is slot k + 1 of the previous row.
                        let x = k + 1 < width ? min(hPrev[k + 1] + open, xPrev[k + 1] + extend) : inf
                        // Deletion: (i, j − 1) is slot k − 1 of this row.
                        let y = min(hLeft + open, yLeft + extend)
                        xCur[k] = x
                        let h = min(best, x, y)
                        hCur[k] = h
                        yLeft = y; hLeft = h
                    }
                    swap(&hPrev, &hCur); swap(&xPrev, &xCur)
                }
                var best = inf
                for k in 0..<width where hPrev[k] < best { best = hPrev[k] }
                return best
            }
        }
    }
}

extension HaplotypeEvidence.Read {
    /// The read of an alignment, anchored on its aligned part.
    init(_ r: AlignedRead) {
        sequence = r.sequence
        qualities = r.qualities
        leftStart = r.position - r.leadingClip
        rightEnd = r.referenceEnd + r.trailingClip
    }
}
