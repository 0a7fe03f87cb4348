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

    init(start: Int, count: Int) {
        self.start = start
        depth = Array(repeating: 0, count: count)
        refReads = depth; mismatches = depth; refForward = depth; mapq0 = depth
        refQualSum = Array(repeating: 0, count: count)
        refMapqSum = refQualSum; refEndDistanceSum = refQualSum
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
    var count: Int { forward + reverse }
}
