/// Indel alleles suggested by soft-clipped sequence alone (a split-read search, as Pindel's).
///
/// Reads that end inside or near an indel of more than a dozen bases are mostly soft-clipped at it by
/// the aligner rather than given a gap, so the allele may be in no read's CIGAR, or in one: too few for
/// a candidate. The clipped bases still say what happened. A trailing clip that matches the reference
/// again after skipping `k` bases is a deletion of those `k` bases; one whose first `m` bases match
/// nothing while the rest matches the reference right at the clip point is an insertion of those `m`
/// bases. Leading clips are the mirror image. Each read's clip suggests at most one allele (none when
/// two different events explain it equally well); an allele that `minReads` reads suggest becomes a
/// candidate, and haplotype evidence (`HaplotypeEvidence`) then counts every read for or against it.
///
/// The code knows reads only as sequences, qualities and reference anchors: no files, no pileup.
enum ClippedIndels {
    /// Clipped bases that must match the reference again at the event's far side: a random clip then fits
    /// one of the ~100 events searched with a chance of about 100 / 4^8 ≈ 0.15 % (with 5 bases it would be
    /// 10 %). Shorter clips are not searched.
    static let minAnchor = 8
    /// Longest event searched (as `HaplotypeEvidence.maxIndel`, which then counts the reads).
    static let maxIndel = HaplotypeEvidence.maxIndel
    /// Reads whose clips must suggest the same (left-normalised) allele.
    static let minReads = 2

    /// Mismatches allowed over `n` compared high-quality bases: none below 16, then one per 16
    /// (Illumina substitution errors, not another event).
    static func allowedMismatches(_ n: Int) -> Int { n / 16 }

    /// One clip's event, before left-normalisation: inserted bases (or a deleted count) between reference
    /// positions `at − 1` and `at` (0-based; `at` is the first deleted base or the base after the insertion).
    struct Event: Equatable {
        var at: Int
        var inserted: [UInt8]
        var deleted: Int
    }

    /// The event a read's clip suggests, or `nil` when the clip is short, fits the reference ungapped, or
    /// fits no single indel of at most `maxIndel` bases (or two of them equally well).
    /// - Parameters:
    ///   - clip: the clipped bases (upper case) and their Phred qualities, in read order.
    ///   - trailing: the clip follows the aligned part (its first base would lie at `boundary`); otherwise it
    ///     precedes it (its last base would lie at `boundary − 1`).
    ///   - boundary: 0-based reference position where the aligned part ends (trailing: exclusive end) or starts.
    ///   - minBaseQuality: bases below it are not compared.
    ///   - reference: the upper-case reference base at a 0-based position, `nil` outside the known window.
    static func event(clip: ArraySlice<UInt8>, qualities: ArraySlice<UInt8>, trailing: Bool, boundary: Int,
                      minBaseQuality: Int, reference: (Int) -> UInt8?) -> Event? {
        let c = Array(clip), q = Array(qualities)
        let n = c.count
        guard n >= minAnchor, q.count == n else { return nil }
        // Mismatches of clip bases `range` laid on the reference from `start`, or nil when too few bases
        // compare or too many mismatch.
        func fits(_ range: Range<Int>, at start: Int) -> (compared: Int, mismatches: Int)? {
            var compared = 0, mismatches = 0
            let budget = allowedMismatches(range.count)
            for (k, i) in range.enumerated() {
                guard let r = reference(start + k) else { return nil }
                let b = c[i]
                if b == UInt8(ascii: "N") || r == UInt8(ascii: "N") || Int(q[i]) < minBaseQuality { continue }
                compared += 1
                if b != r { mismatches += 1; if mismatches > budget { return nil } }
            }
            guard compared >= minAnchor, mismatches <= allowedMismatches(compared) else { return nil }
            return (compared, mismatches)
        }
        // A clip that already fits where it lies is SoftClipRescue's (a run of SNPs), not an indel.
        let ungappedStart = trailing ? boundary : boundary - n
        if fits(0..<n, at: ungappedStart) != nil { return nil }

        var best: (event: Event, compared: Int, mismatches: Int)?
        var tied = false
        func consider(_ e: Event, _ f: (compared: Int, mismatches: Int)?) {
            guard let f else { return }
            if let b = best {
                // More matched bases first, then fewer mismatches; an equal fit by another event is a tie.
                if f.compared < b.compared || (f.compared == b.compared && f.mismatches > b.mismatches) { return }
                if f.compared == b.compared && f.mismatches == b.mismatches {
                    if e != b.event { tied = true }
                    return
                }
            }
            best = (e, f.compared, f.mismatches)
            tied = false
        }
        for k in 1...maxIndel {
            // Deletion: the whole clip matches the reference `k` bases further out.
            if trailing {
                consider(Event(at: boundary, inserted: [], deleted: k), fits(0..<n, at: boundary + k))
            } else {
                consider(Event(at: boundary - k, inserted: [], deleted: k), fits(0..<n, at: boundary - k - n))
            }
        }
        if n - minAnchor >= 1 {
            for m in 1...min(maxIndel, n - minAnchor) {
                // Insertion: the clip's `m` bases next to the aligned part are new, the rest matches from the boundary on.
                if trailing {
                    consider(Event(at: boundary, inserted: Array(c[0..<m]), deleted: 0), fits(m..<n, at: boundary))
                } else {
                    consider(Event(at: boundary, inserted: Array(c[(n - m)..<n]), deleted: 0), fits(0..<(n - m), at: boundary - (n - m)))
                }
            }
        }
        guard let b = best, !tied else { return nil }
        if !b.event.inserted.isEmpty, b.event.inserted.contains(UInt8(ascii: "N")) { return nil }
        return b.event
    }

    /// The left-normalised alleles the clips of one read suggest (at most one per clip).
    static func alleles(_ r: AlignedRead, contig: Int, minBaseQuality: Int, window: [UInt8], windowStart: Int) -> [Allele] {
        var out: [Allele] = []
        func reference(_ p: Int) -> UInt8? {
            let i = p - windowStart
            return i >= 0 && i < window.count ? window[i] : nil
        }
        func add(_ e: Event?) {
            guard let e else { return }
            let normal = window.withUnsafeBufferPointer {
                IndelNormalizer.normalize(at: e.at, inserted: e.inserted, deleted: e.deleted, window: $0, windowStart: windowStart)
            }
            if let n = normal, !n.ref.contains(UInt8(ascii: "N")) {
                out.append(Allele(contig: contig, position: n.position, ref: n.ref, alt: n.alt))
            }
        }
        let n = r.sequence.count
        guard r.qualities.count == n, r.leadingClip + r.trailingClip <= n else { return [] }
        if r.leadingClip >= minAnchor {
            add(event(clip: r.sequence[0..<r.leadingClip], qualities: r.qualities[0..<r.leadingClip], trailing: false,
                      boundary: r.position, minBaseQuality: minBaseQuality, reference: reference))
        }
        if r.trailingClip >= minAnchor {
            let s = n - r.trailingClip
            add(event(clip: r.sequence[s..<n], qualities: r.qualities[s..<n], trailing: true, boundary: r.referenceEnd,
                      minBaseQuality: minBaseQuality, reference: reference))
        }
        return out
    }
}
