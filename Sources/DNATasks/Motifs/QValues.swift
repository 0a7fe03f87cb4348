/// Benjamini–Hochberg q-values.
///
/// With `m` tests and p-values sorted ascending `p(1) ≤ … ≤ p(m)`, the q-value of the test at
/// rank `i` is `min(1, min over k ≥ i of p(k) · m / k)`; tied p-values share the q-value of the
/// last of them. The scanner tests every clean window of every sequence on both strands, per
/// motif, which is `m`; hits are only the windows below the p-value threshold, but their
/// q-values take all `m` windows into account, as FIMO's do. Since a discretised score has one
/// p-value, the scanner passes a histogram (p-value, number of windows) instead of `m` values;
/// the result is identical to sorting all `m` p-values.
public enum QValues {
    /// q-values of `levels` (p-value, number of tests with that p-value), in the given order.
    /// - Parameter tests: `m`, the total number of tests (the sum of the counts).
    public static func benjaminiHochberg(levels: [(p: Double, count: Int)], tests: Int) -> [Double] {
        guard tests > 0 else { return levels.map { _ in 1 } }
        let order = levels.indices.sorted { levels[$0].p < levels[$1].p }
        var rankAfter = [Int](repeating: 0, count: levels.count)   // rank of the last test of each level
        var cumulative = 0
        var k = 0
        while k < order.count {
            // Equal p-values from different levels (e.g. the two strands) are one tie group.
            var j = k
            var group = 0
            while j < order.count && levels[order[j]].p == levels[order[k]].p { group += levels[order[j]].count; j += 1 }
            cumulative += group
            for t in k..<j { rankAfter[order[t]] = cumulative }
            k = j
        }
        var q = [Double](repeating: 1, count: levels.count)
        var running = 1.0
        for t in order.indices.reversed() {
            let i = order[t]
            running = min(running, levels[i].p * Double(tests) / Double(rankAfter[i]))
            q[i] = running
        }
        return q
    }

    /// q-values of individual p-values (each one test), in the given order. For checking and
    /// small inputs; the scanner uses `benjaminiHochberg(levels:tests:)`.
    public static func benjaminiHochberg(_ p: [Double]) -> [Double] {
        benjaminiHochberg(levels: p.map { ($0, 1) }, tests: p.count)
    }
}
