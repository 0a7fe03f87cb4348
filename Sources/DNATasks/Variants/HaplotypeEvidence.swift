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
    /// Alleles per comparison (the measured one and its nearest neighbours): at most 2^4 haplotypes.
    static let maxAlleles = 4
    /// Read bases aligned on each side of the alleles (the rest of a read costs the same on every haplotype).
    static let trimFlank = 40

    /// Alignment costs in Phred units (a mismatch costs its base quality).
    enum Scoring {
        /// Base qualities are clamped to this range; a missing quality (0xFF, SAM `*`) counts as `unknownQuality`.
        static let minQuality: Int32 = 2, maxQuality: Int32 = 40, unknownQuality: Int32 = 25
        /// A gap of `k` bases costs `gapOpen + k · gapExtend` (indel sequencing errors are rare on Illumina reads).
        static let gapOpen: Int32 = 40, gapExtend: Int32 = 6
        /// Diagonals searched on each side of the read's anchor diagonals (room for other small indels in the read).
        static let bandPadding = 6
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
        /// The read is assigned to no haplotype when even its best fit costs more than this (a clip of
        /// breakpoint or adapter sequence that no candidate haplotype explains).
        var maxCost: Int32 = .max
    }

    /// Haplotypes over a reference window: the reference with every combination of the given alleles
    /// that do not overlap one another (the first allele is the one whose support is measured, the others
    /// nearby candidates, so a read carrying two nearby events fits the haplotype with both).
    struct Haplotypes {
        /// 0-based reference position of `reference[0]`.
        let start: Int
        let reference: [UInt8]
        let alleles: [Allele]
        /// Bit k set: haplotype holds `alleles[k]`. Index 0 is the reference (mask 0).
        let masks: [Int]
        let sequences: [[UInt8]]

        /// - Parameters:
        ///   - alleles: at most `maxAlleles`; alleles whose REF does not lie inside the window are dropped.
        ///   - assembled: haplotypes from local assembly (`LocalAssembly`), each the whole window's sequence
        ///     with the alleles it holds; they are added as they are, not combined (their alleles join
        ///     `alleles` after the combined ones, so a read can be counted for or against them too).
        init(start: Int, reference: [UInt8], alleles: [Allele], assembled: [(sequence: [UInt8], alleles: [Allele])] = []) {
            self.start = start
            self.reference = reference
            let inside = alleles.filter { $0.position >= start && $0.position + $0.ref.count <= start + reference.count }
                .prefix(HaplotypeEvidence.maxAlleles)
            var list = Array(inside)
            var masks: [Int] = [], seqs: [[UInt8]] = []
            for mask in 0..<(1 << inside.count) {
                let chosen = list.indices.filter { mask & (1 << $0) != 0 }.map { list[$0] }
                    .sorted { $0.position < $1.position }
                if zip(chosen, chosen.dropFirst()).contains(where: { $0.position + $0.ref.count > $1.position }) { continue }
                var seq: [UInt8] = [], at = 0
                for a in chosen {
                    let i = a.position - start
                    seq += reference[at..<i]
                    seq += a.alt
                    at = i + a.ref.count
                }
                seq += reference[at...]
                masks.append(mask)
                seqs.append(seq)
            }
            // Assembled haplotypes whose allele set no combination already gives; at most 62 alleles in all (mask bits).
            for h in assembled {
                var extended = list, mask = 0, fits = true
                for a in h.alleles {
                    if let k = extended.firstIndex(of: a) { mask |= 1 << k; continue }
                    guard extended.count < 62 else { fits = false; break }
                    extended.append(a); mask |= 1 << (extended.count - 1)
                }
                guard fits, !masks.contains(mask) else { continue }
                list = extended; masks.append(mask); seqs.append(h.sequence)
            }
            self.alleles = list
            self.masks = masks
            sequences = seqs
        }

        /// Position on haplotype `h` of 0-based reference position `x` (positions past an allele shift by its length change).
        func map(_ x: Int, haplotype h: Int) -> Int {
            var y = x - start
            for (k, a) in alleles.enumerated() where masks[h] & (1 << k) != 0 && x >= a.position + a.ref.count {
                y += a.lengthChange
            }
            return y
        }
    }

    /// The haplotype index that `read` fits best, or `nil` when none fits clearly better than all others
    /// (or the best fit costs more than the read's `maxCost`).
    static func assign(_ read: Read, to haps: Haplotypes) -> Int? {
        guard let costs = self.costs(read, haps), costs.count >= 2 else { return nil }
        var best = 0
        for h in 1..<costs.count where costs[h] < costs[best] { best = h }
        guard costs[best] <= read.maxCost else { return nil }
        var second = Int32.max
        for h in costs.indices where h != best { second = min(second, costs[h]) }
        return second - costs[best] >= Scoring.margin ? best : nil
    }

    /// What a read says about one allele.
    enum Support: Equatable {
        case allele, against, neither
        /// The read fits no haplotype within its `maxCost`: it carries sequence that none of the candidates
        /// explains (a breakpoint, another copy of a repeat), so it is evidence for none of them.
        case misfit
    }

    /// Whether `read` supports `haps.alleles[k]`: its best haplotype holding the allele beats its best
    /// haplotype without it by `Scoring.margin` (`.allele`), or the reverse (`.against`); `.neither` when
    /// the two are closer, `.misfit` when the read fits no haplotype within its `maxCost`.
    static func support(_ read: Read, _ haps: Haplotypes, allele k: Int = 0) -> Support {
        guard let costs = self.costs(read, haps) else { return .neither }
        var with = Int32.max, without = Int32.max
        for (h, c) in costs.enumerated() {
            if haps.masks[h] & (1 << k) != 0 { with = min(with, c) } else { without = min(without, c) }
        }
        guard with < Int32.max, without < Int32.max else { return .neither }
        // A misfit only when the allele's haplotypes differ from the others near the read at all.
        guard min(with, without) <= read.maxCost else { return with == without ? .neither : .misfit }
        if without - with >= Scoring.margin { return .allele }
        if with - without >= Scoring.margin { return .against }
        return .neither
    }

    /// The alignment cost of `read` against every haplotype.
    static func costs(_ whole: Read, _ haps: Haplotypes) -> [Int32]? {
        guard abs(whole.rightEnd - whole.leftStart - whole.sequence.count) <= Scoring.maxAnchorShift else { return nil }
        // The haplotypes differ only around their alleles: the read's bases further away cost the same on
        // every haplotype, so only the part within `trimFlank` of the alleles is aligned.
        let lo = (haps.alleles.map(\.position).min() ?? haps.start) - trimFlank
        let hi = (haps.alleles.map { $0.position + $0.ref.count }.max() ?? haps.start) + trimFlank
        let read = whole.trimmed(to: lo..<hi)
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
        // Four rows of `width + 1` slots in one buffer: H and X of the previous and of the current row.
        let stride = width + 1
        let buffer = UnsafeMutablePointer<Int32>.allocate(capacity: 4 * stride)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: inf, count: 4 * stride)
        var hPrev = buffer, xPrev = buffer + stride, hCur = buffer + 2 * stride, xCur = buffer + 3 * stride
        for k in 0..<width {
            let j = lo + k
            if j >= 0 && j <= m { hPrev[k] = 0 }   // free start anywhere on the haplotype
        }
        read.withUnsafeBufferPointer { r in
            qualities.withUnsafeBufferPointer { qs in
                haplotype.withUnsafeBufferPointer { hp in
                    for i in 1...n {
                        let b = r[i - 1]
                        let qRaw = qs[i - 1]
                        let q = qRaw == 0xFF ? Scoring.unknownQuality
                            : min(Scoring.maxQuality, max(Scoring.minQuality, Int32(qRaw)))
                        let bIsN = b == nBase
                        // Slots whose haplotype position j lies in [0, m].
                        let kLo = max(0, -(i + lo)), kHi = min(width - 1, m - i - lo)
                        var k = 0
                        while k < min(kLo, width) { hCur[k] = inf; xCur[k] = inf; k += 1 }
                        var yLeft = inf, hLeft = inf
                        k = kLo
                        while k <= kHi {
                            let j = i + lo + k
                            // Diagonal: (i − 1, j − 1) is slot k of the previous row.
                            var best = inf
                            if j >= 1 {
                                let a = hp[j - 1]
                                best = hPrev[k] &+ (a == b || a == nBase || bIsN ? 0 : q)
                            }
                            // Insertion: (i − 1, j) is slot k + 1 of the previous row (slot `width` stays inf).
                            let x = min(hPrev[k + 1] &+ open, xPrev[k + 1] &+ extend)
                            // Deletion: (i, j − 1) is slot k − 1 of this row.
                            let y = min(hLeft &+ open, yLeft &+ extend)
                            xCur[k] = min(x, inf)
                            let h = min(best, x, y, inf)
                            hCur[k] = h
                            yLeft = min(y, inf); hLeft = h
                            k += 1
                        }
                        k = max(kHi + 1, 0)
                        while k < width { hCur[k] = inf; xCur[k] = inf; k += 1 }
                        swap(&hPrev, &hCur); swap(&xPrev, &xCur)
                    }
                }
            }
        }
        var best = inf
        for k in 0..<width where hPrev[k] < best { best = hPrev[k] }
        return best
    }
}

extension HaplotypeEvidence.Read {
    /// The part of the read that either anchor lays inside the reference range `r` (with anchors moved to match);
    /// the whole read when that part is empty.
    func trimmed(to r: Range<Int>) -> Self {
        let n = sequence.count
        let rightStart = rightEnd - n
        let first = max(0, min(r.lowerBound - leftStart, r.lowerBound - rightStart))
        let end = min(n, max(r.upperBound - leftStart, r.upperBound - rightStart))
        guard first < end, first > 0 || end < n else { return self }
        return Self(sequence: Array(sequence[first..<end]), qualities: Array(qualities[first..<end]),
                    leftStart: leftStart + first, rightEnd: rightEnd - (n - end), maxCost: maxCost)
    }

    /// The read of an alignment, anchored on its aligned part.
    init(_ r: AlignedRead) {
        sequence = r.sequence
        qualities = r.qualities
        leftStart = r.position - r.leadingClip
        rightEnd = r.referenceEnd + r.trailingClip
        // About what its own alignment's edits (NM) cost, plus two confident bases.
        maxCost = Int32(min(r.summary.editDistance, 1000)) * HaplotypeEvidence.Scoring.maxQuality + 3 * HaplotypeEvidence.Scoring.margin
    }
}
