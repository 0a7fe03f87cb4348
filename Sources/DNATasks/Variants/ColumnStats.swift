import Foundation
import SeqIO

/// Per-position pileup summaries over a scanned range, indexed by 0-based position − `start`.
struct ColumnStats {
    let start: Int
    var depth: [Int32]
    var refReads: [Int32]
    var mismatches: [Int32]
    var refForward: [Int32]
    var mapq0: [Int32]
    var refQualSum: [Float]
    var refMapqSum: [Float]
    var refEndDistanceSum: [Float]
    /// Reads counted at the position through a rescued soft clip (`SoftClipRescue`), not an aligned base.
    var rescued: [Int32]
    /// Reads counted at the position that local realignment placed differently (`LocalRealigner`).
    var realigned: [Int32]
    /// Whole-read evidence of the reference reads (`ReadEvidence` sums).
    var refReadEvidence: [ReadEvidence]

    init(start: Int, count: Int) {
        self.start = start
        depth = Array(repeating: 0, count: count)
        refReads = depth; mismatches = depth; refForward = depth; mapq0 = depth; rescued = depth; realigned = depth
        refQualSum = Array(repeating: 0, count: count)
        refMapqSum = refQualSum; refEndDistanceSum = refQualSum
        refReadEvidence = Array(repeating: ReadEvidence(), count: count)
    }

    var count: Int { depth.count }

    func index(_ position: Int) -> Int? {
        let i = position - start
        return i >= 0 && i < depth.count ? i : nil
    }

    /// Mean mismatch fraction over `[position − radius, position + radius]`, leaving out `position`.
    func mismatchDensity(around position: Int, radius: Int) -> Float {
        var sum: Float = 0, n: Float = 0
        for p in (position - radius)...(position + radius) where p != position {
            guard let i = index(p), depth[i] > 0 else { continue }
            sum += Float(mismatches[i]) / Float(depth[i]); n += 1
        }
        return n > 0 ? sum / n : 0
    }

    /// Positions within `radius` (not `position`) where at least 30 % of the reads differ from the reference.
    func variantLikeSites(around position: Int, radius: Int) -> Int {
        var k = 0
        for p in (position - radius)...(position + radius) where p != position {
            guard let i = index(p), depth[i] > 0 else { continue }
            if Float(mismatches[i]) >= 0.3 * Float(depth[i]) { k += 1 }
        }
        return k
    }

    /// Median depth of covered positions (0 when nothing is covered).
    func medianDepth() -> Float {
        var hist = [Int](repeating: 0, count: 4097)
        var n = 0
        for d in depth where d > 0 { hist[min(Int(d), 4096)] += 1; n += 1 }
        guard n > 0 else { return 0 }
        var seen = 0
        for (d, c) in hist.enumerated() {
            seen += c
            if seen * 2 >= n { return Float(d) }
        }
        return 0
    }
}

/// Running totals for one candidate allele.
struct AlleleEvidence {
    var forward = 0
    var reverse = 0
    var qualSum: Float = 0
    var mapqSum: Float = 0
    var mapq0 = 0
    var endDistanceSum: Float = 0
    /// Supporting bases that come from rescued soft clips.
    var rescued = 0
    /// Supporting reads that local realignment placed differently.
    var realigned = 0
    var reads = ReadEvidence()
    var count: Int { forward + reverse }
}

/// Sums of whole-read evidence (`ReadSummary`) over a set of reads.
struct ReadEvidence {
    var reads = 0
    /// Edits besides the candidate's own (for reference reads: all of them).
    var otherEdits: Float = 0
    /// Reads with at least 5 soft-clipped bases.
    var clipped = 0
    /// Reads whose second-best hit scores within 5 of the best (bwa `XS` ≥ `AS` − 5).
    var secondHit = 0
    var discordant = 0
    var split = 0
    /// Reads with MAPQ below 20.
    var lowMapq = 0

    mutating func merge(_ o: ReadEvidence) {
        reads += o.reads; otherEdits += o.otherEdits; clipped += o.clipped; secondHit += o.secondHit
        discordant += o.discordant; split += o.split; lowMapq += o.lowMapq
    }

    mutating func add(_ r: ReadSummary, mappingQuality: Int, ownEdits: Int) {
        reads += 1
        otherEdits += Float(max(0, r.editDistance - ownEdits))
        if r.softClipped >= 5 { clipped += 1 }
        if r.scoreMargin <= 5 { secondHit += 1 }
        if r.discordant { discordant += 1 }
        if r.split { split += 1 }
        if mappingQuality < 20 { lowMapq += 1 }
    }

    /// Mean other edits (log1p) and the fractions clipped, second hit, discordant, split, low MAPQ
    /// (zeros without reads).
    var features: [Float] {
        guard reads > 0 else { return [0, 0, 0, 0, 0, 0] }
        let n = Float(reads)
        return [log1p(otherEdits / n), Float(clipped) / n, Float(secondHit) / n, Float(discordant) / n,
                Float(split) / n, Float(lowMapq) / n]
    }
}
