import SeqIO

/// One filtered read of a scanned range, kept for local realignment and soft-clip rescue.
struct AlignedRead {
    /// 0-based reference position of the first aligned base.
    var position: Int
    /// 0-based exclusive end of the aligned part on the reference.
    var referenceEnd: Int
    var cigar: [CigarOperation]
    /// Bases (upper-case ASCII) and Phred qualities, stored orientation.
    var sequence: [UInt8]
    var qualities: [UInt8]
    var isReverse: Bool
    var mappingQuality: Int
    var summary: ReadSummary
    var leadingClip: Int
    var trailingClip: Int

    /// A read from its alignment: `position` 0-based, `cigar` as in the record (hard clips ignored).
    init(position: Int, cigar: [CigarOperation], sequence: [UInt8], qualities: [UInt8], isReverse: Bool,
         mappingQuality: Int, summary: ReadSummary) {
        self.position = position
        self.cigar = cigar.filter { $0.op != UInt8(ascii: "H") && $0.op != UInt8(ascii: "P") }
        self.sequence = sequence.map(IndelNormalizer.upper)
        self.qualities = qualities
        self.isReverse = isReverse
        self.mappingQuality = mappingQuality
        self.summary = summary
        let soft = UInt8(ascii: "S")
        leadingClip = self.cigar.first.map { $0.op == soft ? $0.length : 0 } ?? 0
        trailingClip = self.cigar.count > 1 ? (self.cigar.last!.op == soft ? self.cigar.last!.length : 0) : 0
        referenceEnd = position + self.cigar.reduce(0) { $0 + ($1.consumesReference ? $1.length : 0) }
    }

    /// Reference span the read would cover with its soft clips laid on ungapped (0-based half-open).
    var extendedSpan: Range<Int> { (position - leadingClip)..<(referenceEnd + trailingClip) }
}

/// One read base (or deletion) at one reference position after local realignment; the scanner
/// counts it as it counts a pileup entry.
struct RealignedObservation {
    /// 0-based reference position.
    var position: Int
    /// Read base (upper-case ASCII), or `*` for a deletion.
    var base: UInt8
    /// Base quality (for a deletion: of the next read base, as htslib's pileup does).
    var quality: UInt8
    /// 0-based position in the read (stored orientation).
    var queryPosition: Int
    var isDeletion: Bool
    /// Indel after this position: > 0 inserted bases, < 0 deleted reference bases, 0 none.
    var indel: Int
    var insertedBases: [UInt8]
    /// The base comes from a soft clip of the original alignment.
    var fromClip: Bool
    /// The read's bases in the window sit elsewhere than in its original alignment.
    var moved: Bool
    var isReverse: Bool
    var mappingQuality: Int
    /// The read's whole-read evidence (from its original alignment).
    var read: ReadSummary
    var isRefSkip: Bool { false }
}

/// Local haplotype-aware realignment in active windows.
///
/// Where a segment is diverged (several SNPs within a few bases), a read aligner prefers a gap pair
/// (an insertion plus a deletion) or a soft clip to a run of mismatches, so the true SNPs are in no
/// pileup column, or in too few reads to become candidates. Windows around such alignments are
/// re-done here, in the spirit of GATK HaplotypeCaller's active regions:
///
/// 1. Active windows: reference stretches where at least `minEvents` read events (an indel, a soft
///    clip of at least `SoftClipRescue.minClip` bases, or a read with `mismatchCluster` mismatches
///    within `mismatchSpan` bases) fall within `joinDistance` of each other, padded by `padding`
///    reference bases on each side, merged when they come within `joinDistance`, and cut into pieces
///    of at most `maxWindow` bases.
/// 2. Candidate haplotypes: the window's bases of the reads that span it (aligned bases on both
///    sides), distinct sequences with at least two such reads, at most `maxHaplotypes`, plus the
///    reference. Each is aligned once to the reference window with an affine-gap global alignment
///    that prefers substitutions to gaps (`Scoring`): five adjacent SNPs cost less than a gap pair.
/// 3. Each overlapping read is compared to each haplotype without gaps (quality-weighted
///    mismatches, one gap allowed for a spanning read whose length differs), and placed on the
///    reference through its best haplotype. A read that fits no haplotype (cost above
///    `maxAssignCost`) is aligned to the reference window on its own with the same scoring.
///
/// Soft-clipped bases take part (laid on without gaps to cut the read's window sequence), but a
/// read's clipped bases are dropped again when, once placed, more than
/// `SoftClipRescue.maxMismatchFraction` of them mismatch (adapter, insertion or breakpoint sequence).
/// Everything is deterministic: ties go to the haplotype with more reads, then to the reference.
enum LocalRealigner {
    /// Events needed within `joinDistance` of each other to open a window: one read with an
    /// indel (or clip) and a second event nearby (its own other gap, as in the gap-pair signature
    /// of a substitution run, or another read's), not a lone sequencing error.
    static let minEvents = 2
    /// Events this close (bases) are one cluster; windows this close are merged.
    static let joinDistance = 15
    /// Reference bases added on each side of an event cluster, so a window starts and ends in
    /// sequence that the reads align well to (the anchors of the realignment).
    static let padding = 20
    /// Longest window: reads (about 150 bases) must still span most windows for their bases to
    /// build haplotypes.
    static let maxWindow = 120
    /// A read with this many mismatches within `mismatchSpan` bases of its alignment is an event.
    static let mismatchCluster = 4
    static let mismatchSpan = 20
    /// Candidate haplotypes besides the reference.
    static let maxHaplotypes = 8
    /// Quality-weighted mismatches (Phred sum, each capped at 40) above which a read is aligned on
    /// its own rather than through a haplotype: about two confident mismatches.
    static let maxAssignCost = 60
    /// Cost of one gap between a read and a haplotype, in the same units (indel sequencing errors
    /// are rare on Illumina reads).
    static let readGapOpen = 45, readGapExtend = 5

    /// Alignment scores of a window sequence against the reference window: match +1, mismatch −4,
    /// a gap of `k` bases −(11 + k). Six adjacent substitutions (−30) still beat a 1-base
    /// insertion plus a 1-base deletion (−24) once the bases the gap pair would shift
    /// mismatch too; in practice runs of up to five SNPs come out as SNPs. `N` scores 0.
    enum Scoring {
        static let match = 1, mismatch = -4, gapOpen = -11, gapExtend = -1
    }

    // MARK: Active windows

    /// Active windows of `reads` (sorted by position or not), as 0-based half-open reference ranges,
    /// sorted and disjoint, clipped to `limit`.
    /// - Parameter reference: the reference base at a 0-based position (upper case), `nil` outside
    ///   the known window.
    static func activeWindows(_ reads: [AlignedRead], limit: Range<Int>, reference: (Int) -> UInt8?) -> [Range<Int>] {
        var events: [Int] = []
        for r in reads { events += readEvents(r, reference: reference) }
        events.sort()
        var clusters: [ClosedRange<Int>] = []
        var i = 0
        while i < events.count {
            var j = i
            while j + 1 < events.count && events[j + 1] - events[j] <= joinDistance { j += 1 }
            if j - i + 1 >= minEvents { clusters.append(events[i]...events[j]) }
            i = j + 1
        }
        var merged: [Range<Int>] = []
        for c in clusters {
            let lo = max(limit.lowerBound, c.lowerBound - padding), hi = min(limit.upperBound, c.upperBound + 1 + padding)
            guard lo < hi else { continue }
            let w = lo..<hi
            if let last = merged.last, w.lowerBound - last.upperBound <= joinDistance {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, w.upperBound)
            } else {
                merged.append(w)
            }
        }
        // Long stretches are cut into equal pieces no longer than `maxWindow`.
        var out: [Range<Int>] = []
        for w in merged {
            let pieces = (w.count + maxWindow - 1) / maxWindow
            for k in 0..<pieces {
                out.append((w.lowerBound + w.count * k / pieces)..<(w.lowerBound + w.count * (k + 1) / pieces))
            }
        }
        return out
    }

    /// 0-based reference positions of one read's events: indels (first position after an
    /// insertion, first deleted base), clip boundaries (clips of at least `SoftClipRescue.minClip`
    /// bases) and the first base of each mismatch cluster.
    static func readEvents(_ r: AlignedRead, reference: (Int) -> UInt8?) -> [Int] {
        var out: [Int] = []
        if r.leadingClip >= SoftClipRescue.minClip { out.append(r.position) }
        if r.trailingClip >= SoftClipRescue.minClip { out.append(r.referenceEnd - 1) }
        var q = 0, p = r.position
        var mismatches: [Int] = []
        // Reads whose edit distance (NM) is below the cluster size cannot hold a mismatch cluster.
        let scan = r.summary.editDistance >= mismatchCluster
        for op in r.cigar {
            switch op.op {
            case UInt8(ascii: "M"), UInt8(ascii: "="), UInt8(ascii: "X"):
                for k in 0..<op.length where scan {
                    let b = r.sequence[q + k]
                    if let ref = reference(p + k), b != ref, b != UInt8(ascii: "N"), ref != UInt8(ascii: "N") {
                        mismatches.append(p + k)
                    }
                }
                q += op.length; p += op.length
            case UInt8(ascii: "I"): out.append(p); q += op.length
            case UInt8(ascii: "D"), UInt8(ascii: "N"): out.append(p); p += op.length
            case UInt8(ascii: "S"): q += op.length
            default: break
            }
        }
        var k = 0
        while k + mismatchCluster - 1 < mismatches.count {
            if mismatches[k + mismatchCluster - 1] - mismatches[k] < mismatchSpan {
                out.append(mismatches[k])
                k += mismatchCluster
            } else {
                k += 1
            }
        }
        return out
    }

    // MARK: Realignment of one window

    /// The observations of every read in `reads` that reaches into `window` (0-based half-open),
    /// after realignment, in read order then reference order. Bases below `minBaseQuality` are
    /// left out, as the pileup leaves them out.
    /// - Parameter reference: reference bases of `window` (upper case), `window.count` of them.
    static func realign(window: Range<Int>, reference ref: [UInt8], reads: [AlignedRead], indices: [Int],
                        minBaseQuality: Int) -> [RealignedObservation] {
        precondition(ref.count == window.count)
        var segments: [Segment] = []
        for i in indices {
            if let s = segment(of: reads[i], window: window, index: i), !s.bases.isEmpty { segments.append(s) }
        }
        // Haplotypes: distinct spanning sequences with two or more reads, best supported first.
        var support: [[UInt8]: Int] = [:]
        for s in segments where s.leftAnchored && s.rightAnchored { support[s.bases, default: 0] += 1 }
        var haps: [Haplotype] = [Haplotype(bases: ref, support: support[ref] ?? 0, path: Array(0..<ref.count).map { .match($0) })]
        let ranked = support.filter { $0.value >= 2 && $0.key != ref }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.lexicographicallyPrecedes($1.key) }
        for (bases, n) in ranked.prefix(maxHaplotypes) {
            haps.append(Haplotype(bases: bases, support: n,
                                  path: align(bases, to: ref, freeStart: false, freeEnd: false)))
        }
        var out: [RealignedObservation] = []
        var own: [[UInt8]: [HapStep]] = [:]
        for s in segments {
            // Place the read's window bases on the reference: through its best haplotype, or alone.
            var best: (cost: Int, support: Int, hap: Int, map: [Int])? = nil
            if s.leftAnchored || s.rightAnchored {
                for (h, hap) in haps.enumerated() {
                    guard let m = match(s, hap.bases) else { continue }
                    if best == nil || m.cost < best!.cost || (m.cost == best!.cost && hap.support > best!.support) {
                        best = (m.cost, hap.support, h, m.map)
                    }
                }
            }
            var steps: [HapStep]
            if let b = best, b.cost <= maxAssignCost {
                steps = compose(b.map, haps[b.hap].path)
            } else {
                let key = s.bases + [s.leftAnchored ? 1 : 0, s.rightAnchored ? 1 : 0]
                if let cached = own[key] { steps = cached } else {
                    steps = align(s.bases, to: ref, freeStart: !s.leftAnchored, freeEnd: !s.rightAnchored)
                    own[key] = steps
                }
            }
            out += observations(s, steps: steps, window: window, reference: ref, read: reads[s.read],
                                minBaseQuality: minBaseQuality)
        }
        return out
    }

    /// A read's bases over a window.
    struct Segment {
        var read: Int
        /// The read's bases and qualities in the window, and the query index of the first one.
        var bases: [UInt8]
        var qualities: [UInt8]
        var queryStart: Int
        /// The read goes on past the window's first / last position: with aligned bases, or (for a
        /// read wholly on one side of the window) with clipped bases laid on without gaps.
        var leftAnchored: Bool
        var rightAnchored: Bool
        /// Query positions of the original alignment (0-based, absolute) → 0-based reference
        /// position, for the bases of the segment that were aligned.
        var original: [Int: Int]
    }

    /// How a window sequence (haplotype or read) sits on the reference window: one entry per
    /// sequence base, `.match(r)` on 0-based window offset `r`, or `.insertion` after the base before it.
    enum HapStep: Equatable {
        case match(Int)
        case insertion
        /// Not placed (a read base past the end of the haplotype it was compared to).
        case dropped
    }

    /// `match` map values besides haplotype indices.
    static let inserted = -1, dropped = -2

    struct Haplotype {
        var bases: [UInt8]
        var support: Int
        var path: [HapStep]
    }

    /// The read's bases between the query index at the window's first position and the one after
    /// its last, soft clips laid on without gaps; `nil` when the read does not reach the window.
    static func segment(of r: AlignedRead, window: Range<Int>, index: Int = 0) -> Segment? {
        let span = r.extendedSpan
        guard span.lowerBound < window.upperBound, span.upperBound > window.lowerBound else { return nil }
        // Walk the CIGAR: first query index at or after each window edge, and the aligned bases inside.
        var qs: Int? = nil, qe: Int? = nil
        var original: [Int: Int] = [:]
        var q = 0, p = r.position
        let ws = window.lowerBound, we = window.upperBound
        for op in r.cigar {
            let consumesQ = op.consumesQuery && op.op != UInt8(ascii: "S"), consumesR = op.consumesReference
            if op.op == UInt8(ascii: "S") { q += op.length; continue }
            if consumesQ && consumesR {
                for k in 0..<op.length {
                    let pos = p + k
                    if qs == nil && pos >= ws { qs = q + k }
                    if qe == nil && pos >= we { qe = q + k }
                    if pos >= ws && pos < we { original[q + k] = pos }
                }
            } else if consumesR {
                // A deletion: the next query base is the first at or after a window edge inside it.
                if qs == nil && p + op.length > ws { qs = q }
                if qe == nil && p + op.length > we { qe = q }
            } else if consumesQ {
                // Inserted bases belong to the window if they follow one of its positions.
                if qe == nil && p >= we { qe = q }
            }
            if consumesQ { q += op.length }
            if consumesR { p += op.length }
        }
        let alignedQueryEnd = r.sequence.count - r.trailingClip
        let left = r.position <= ws, right = r.referenceEnd >= we
        // Clipped bases laid on without gaps reach a window edge the aligned part does not.
        if !left { qs = max(0, r.leadingClip - (r.position - ws)) }
        else if r.referenceEnd <= ws { qs = alignedQueryEnd + (ws - r.referenceEnd) }
        if !right { qe = min(r.sequence.count, alignedQueryEnd + (we - r.referenceEnd)) }
        else if r.position >= we { qe = r.leadingClip - (r.position - we) }
        else if qe == nil { qe = alignedQueryEnd }
        guard var start = qs, var end = qe else { return nil }
        start = max(0, min(start, r.sequence.count)); end = max(start, min(end, r.sequence.count))
        return Segment(read: index, bases: Array(r.sequence[start..<end]), qualities: Array(r.qualities[start..<end]),
                       queryStart: start, leftAnchored: left, rightAnchored: right, original: original)
    }

    /// Quality-weighted comparison of a read segment to a haplotype without gaps, anchored where the
    /// read is anchored; a spanning read of another length gets one gap (left-most best place).
    /// Returns the cost and, per segment base, the haplotype index it sits on (or `inserted`, or
    /// `dropped` past the haplotype's end). `nil` for a read anchored on neither side.
    static func match(_ s: Segment, _ hap: [UInt8]) -> (cost: Int, map: [Int])? {
        let n = s.bases.count, m = hap.count
        @inline(__always) func c(_ i: Int, _ h: Int) -> Int {
            let a = s.bases[i], b = hap[h]
            return a == b || a == UInt8(ascii: "N") || b == UInt8(ascii: "N") ? 0 : min(40, Int(s.qualities[i]))
        }
        var map = [Int](repeating: dropped, count: n)
        if s.leftAnchored && s.rightAnchored && n != m {
            // d > 0: read[k..<k+d] inserted; d < 0: hap[k..<k−d] deleted. Either way read[0..<k]
            // sits on hap[0..<k] and read index t ≥ k + max(d, 0) on hap index t − d.
            let d = n - m
            var pre = [Int](repeating: 0, count: min(n, m) + 1)
            for k in 0..<min(n, m) { pre[k + 1] = pre[k] + c(k, k) }
            var suf = [Int](repeating: 0, count: n + 1)
            for t in stride(from: n - 1, through: max(0, d), by: -1) { suf[t] = suf[t + 1] + c(t, t - d) }
            var bestK = 0, bestCost = Int.max
            for k in 0...min(n, m) {
                let cost = pre[k] + suf[k + max(d, 0)]
                if cost < bestCost { bestCost = cost; bestK = k }
            }
            for i in 0..<n { map[i] = i < bestK ? i : (i < bestK + max(d, 0) ? inserted : i - d) }
            return (bestCost + readGapOpen + readGapExtend * abs(d), map)
        }
        var cost = 0
        if s.leftAnchored {
            for i in 0..<min(n, m) { cost += c(i, i); map[i] = i }
            return (cost, map)
        }
        if s.rightAnchored {
            for t in 0..<min(n, m) { cost += c(n - 1 - t, m - 1 - t); map[n - 1 - t] = m - 1 - t }
            return (cost, map)
        }
        return nil
    }

    /// A read's placement on the reference through a haplotype: read base → haplotype base → window
    /// offset (`match` map values: a haplotype index, `inserted` or `dropped`).
    static func compose(_ map: [Int], _ path: [HapStep]) -> [HapStep] {
        map.map { h in h >= 0 && h < path.count ? path[h] : (h == inserted ? .insertion : .dropped) }
    }

    /// Affine-gap alignment of `seq` to the reference window `ref` (`Scoring`): every base of `seq`
    /// aligned; reference bases before the first / after the last aligned base are free with
    /// `freeStart` / `freeEnd`, otherwise the alignment is global. Ties go to substitutions, then to
    /// deletions, then to insertions, so the result is deterministic.
    static func align(_ seq: [UInt8], to ref: [UInt8], freeStart: Bool, freeEnd: Bool) -> [HapStep] {
        let n = seq.count, m = ref.count
        if n == 0 { return [] }
        let w = m + 1
        let neg = Int32.min / 4
        // M: ends with seq[i−1] on ref[j−1]; D: ends with ref[j−1] deleted; I: ends with seq[i−1] inserted.
        var M = [Int32](repeating: neg, count: (n + 1) * w)
        var D = M, I = M
        let open = Int32(Scoring.gapOpen), ext = Int32(Scoring.gapExtend)
        M[0] = 0
        for j in 1...max(1, m) where j <= m {
            if freeStart { M[j] = 0 } else { D[j] = open + ext * Int32(j) }
        }
        for i in 1...n { I[i * w] = open + ext * Int32(i) }
        for i in 1...n {
            let a = seq[i - 1]
            for j in 1...max(1, m) where j <= m {
                let b = ref[j - 1]
                let s: Int32 = a == UInt8(ascii: "N") || b == UInt8(ascii: "N") ? 0 : (a == b ? Int32(Scoring.match) : Int32(Scoring.mismatch))
                let d = (i - 1) * w + (j - 1)
                M[i * w + j] = max(M[d], D[d], I[d]) + s
                let up = i * w + j - 1   // same i, previous j: deletion of ref[j−1]
                D[i * w + j] = max(max(M[up], I[up]) + open + ext, D[up] + ext)
                let left = (i - 1) * w + j   // previous i, same j: insertion of seq[i−1]
                I[i * w + j] = max(max(M[left], D[left]) + open + ext, I[left] + ext)
            }
        }
        // End cell: the best of the last row with a free end, else the corner.
        var endJ = m, state = 0
        func pick(_ k: Int) -> Int { M[k] >= D[k] && M[k] >= I[k] ? 0 : (D[k] >= I[k] ? 1 : 2) }
        if freeEnd {
            var best = Int32.min
            for j in 0...m {
                let k = n * w + j
                // Ending on a deletion is never better than stopping before it.
                let (v, st) = M[k] >= I[k] ? (M[k], 0) : (I[k], 2)
                if v > best { best = v; endJ = j; state = st }
            }
        } else {
            state = pick(n * w + m)
        }
        var steps = [HapStep](repeating: .dropped, count: n)
        var i = n, j = endJ
        while i > 0 {
            let k = i * w + j
            switch state {
            case 0:
                steps[i - 1] = .match(j - 1)
                i -= 1; j -= 1
                state = pick(i * w + j)
            case 1:
                let up = k - 1
                state = M[up] + open + ext == D[k] ? 0 : (D[up] + ext == D[k] ? 1 : 2)
                j -= 1
            default:
                steps[i - 1] = .insertion
                let left = k - w
                state = M[left] + open + ext == I[k] ? 0 : (D[left] + open + ext == I[k] ? 1 : 2)
                i -= 1
            }
        }
        return steps
    }

    /// Turns a read's placement into pileup-like observations (absolute positions), one per
    /// window position from its first to its last placed base, with the indel after it; inserted
    /// bases before the first placed base are left out (their column is outside the window).
    static func observations(_ s: Segment, steps: [HapStep], window: Range<Int>, reference: [UInt8],
                             read r: AlignedRead, minBaseQuality: Int) -> [RealignedObservation] {
        let clipEnd = r.sequence.count - r.trailingClip
        func isClip(_ q: Int) -> Bool { q < r.leadingClip || q >= clipEnd }
        // Drop the read's clipped bases when they do not fit once placed.
        var clipSeen = 0, clipMismatch = 0
        for (i, st) in steps.enumerated() where isClip(s.queryStart + i) {
            switch st {
            case .match(let o):
                let b = s.bases[i], ref = reference[o]
                guard b != UInt8(ascii: "N"), ref != UInt8(ascii: "N") else { continue }
                clipSeen += 1
                if b != ref { clipMismatch += 1 }
            case .insertion: clipSeen += 1; clipMismatch += 1
            case .dropped: break
            }
        }
        let dropClips = clipSeen > 0 && (clipSeen < SoftClipRescue.minClip
            || Double(clipMismatch) > SoftClipRescue.maxMismatchFraction * Double(clipSeen))
        // Placed bases in read order, each with the inserted bases that follow it.
        var placed: [(offset: Int, i: Int, inserted: [Int])] = []
        for (i, st) in steps.enumerated() {
            if dropClips && isClip(s.queryStart + i) { continue }
            switch st {
            case .match(let o): placed.append((o, i, []))
            case .insertion: if !placed.isEmpty { placed[placed.count - 1].inserted.append(i) }
            case .dropped: break
            }
        }
        guard !placed.isEmpty else { return [] }
        // Moved: an aligned base of the original alignment now elsewhere, or no longer placed.
        var moved = false
        var kept = 0
        for p in placed where !isClip(s.queryStart + p.i) {
            kept += 1
            if s.original[s.queryStart + p.i] != window.lowerBound + p.offset { moved = true; break }
        }
        if kept != s.original.count { moved = true }
        var out: [RealignedObservation] = []
        for (k, p) in placed.enumerated() {
            let q = s.queryStart + p.i
            let deleted = k + 1 < placed.count ? max(0, placed[k + 1].offset - p.offset - 1) : 0
            let quality = s.qualities[p.i]
            if Int(quality) >= minBaseQuality {
                out.append(RealignedObservation(position: window.lowerBound + p.offset, base: s.bases[p.i], quality: quality,
                                                queryPosition: q, isDeletion: false,
                                                indel: !p.inserted.isEmpty ? p.inserted.count : -deleted,
                                                insertedBases: p.inserted.map { s.bases[$0] }, fromClip: isClip(q),
                                                moved: moved, isReverse: r.isReverse, mappingQuality: r.mappingQuality, read: r.summary))
            }
            guard deleted > 0 else { continue }
            // Deleted positions carry the quality of the next read base, as in htslib's pileup.
            let ni = placed[k + 1].i
            guard Int(s.qualities[ni]) >= minBaseQuality else { continue }
            for d in 1...deleted {
                out.append(RealignedObservation(position: window.lowerBound + p.offset + d, base: UInt8(ascii: "*"),
                                                quality: s.qualities[ni], queryPosition: s.queryStart + ni, isDeletion: true,
                                                indel: 0, insertedBases: [], fromClip: isClip(s.queryStart + ni),
                                                moved: moved, isReverse: r.isReverse, mappingQuality: r.mappingQuality, read: r.summary))
            }
        }
        return out
    }
}
