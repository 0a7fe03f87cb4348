import Foundation
import MambaModel

/// Scans sequences with a set of motifs on both strands and keeps the windows that pass a threshold
/// (p-value below it, or score at least its false-positive-rate cutoff: `ThresholdRule`), plus, per motif, how often every discretised score occurred so that
/// q-values can be computed over all tested windows (see `QValues`).
///
/// A window is tested when all its bases are A, C, G or T (either case); a window holding N or
/// any other byte is skipped and not counted as tested.
public final class MotifScanner {
    /// One motif and its two strands.
    public struct Entry: Sendable {
        public let motif: Motif
        public let forward: PositionWeightMatrix
        /// The reverse-complement matrix; its own score distribution is used, so an asymmetric
        /// background stays exact on the minus strand.
        public let reverse: PositionWeightMatrix
        /// Hit cutoffs (discretised scores); `nil` when no window can reach the threshold.
        let forwardCutoff: Int?
        let reverseCutoff: Int?
    }

    public let entries: [Entry]
    public let threshold: Double
    public let thresholdRule: PositionWeightMatrix.ThresholdRule
    public let bothStrands: Bool
    private let threads: Int

    /// What scanning has gathered for one motif. One object per motif, so that motifs can be
    /// scanned on different threads without sharing anything mutable.
    final class Tally {
        var hits: [MotifHit] = []
        /// Windows tested, counting each strand.
        var tested = 0
        /// Occurrences of each discretised forward ([0]) / reverse ([1]) score, index `score − minScaled`.
        var histograms: [[Int]]
        init(_ e: Entry) {
            histograms = [[Int](repeating: 0, count: e.forward.maxScaled - e.forward.minScaled + 1),
                          [Int](repeating: 0, count: e.reverse.maxScaled - e.reverse.minScaled + 1)]
        }
    }
    private let tallies: [Tally]

    /// Windows tested so far, per motif, counting each strand.
    public var tested: [Int] { tallies.map(\.tested) }
    /// Hits so far, unsorted and without q-values (see `finish`).
    public var hits: [MotifHit] { tallies.flatMap(\.hits) }

    /// - Parameters:
    ///   - threshold: report windows with p-value `< threshold` (`.fimo`), or with a score at least
    ///     the false-positive-rate cutoff for this rate (`.fpr`).
    ///   - pseudocountRule, thresholdRule: see `PositionWeightMatrix`.
    ///   - threads: motifs are scanned in parallel over this many threads.
    /// - Throws: `ToolError` from `PositionWeightMatrix` (zero count with no pseudocount).
    public init(motifs: [Motif], background: Background, pseudocount: Double = 0.1,
                pseudocountRule: PositionWeightMatrix.PseudocountRule = .spread, scale: Double = 100,
                threshold: Double = 1e-4, thresholdRule: PositionWeightMatrix.ThresholdRule = .fimo,
                bothStrands: Bool = true, threads: Int = 1) throws {
        entries = try motifs.map { m in
            let f = try PositionWeightMatrix(motif: m, background: background, pseudocount: pseudocount,
                                             pseudocountRule: pseudocountRule, scale: scale)
            let r = try PositionWeightMatrix(motif: m.reverseComplement(), background: background, pseudocount: pseudocount,
                                             pseudocountRule: pseudocountRule, scale: scale)
            return Entry(motif: m, forward: f, reverse: r,
                         forwardCutoff: f.cutoff(threshold: threshold, rule: thresholdRule),
                         reverseCutoff: r.cutoff(threshold: threshold, rule: thresholdRule))
        }
        self.threshold = threshold
        self.thresholdRule = thresholdRule
        self.bothStrands = bothStrands
        self.threads = max(1, threads)
        tallies = entries.map(Tally.init)
    }

    /// Widest motif: how far a chunk must overlap the next to see every window.
    public var maxWidth: Int { entries.map(\.motif.width).max() ?? 0 }

    /// 0–3 for A/C/G/T in either case, 4 for anything else.
    static let codeTable: [UInt8] = {
        var t = [UInt8](repeating: 4, count: 256)
        for (i, c) in "ACGT".utf8.enumerated() { t[Int(c)] = UInt8(i); t[Int(c | 0x20)] = UInt8(i) }
        return t
    }()

    /// Scans the windows of `bases` that start at `0..<min(starts, bases.count)` and fit inside `bases`.
    /// - Parameters:
    ///   - sequence: recorded in the hits.
    ///   - offset: added to window starts, e.g. the 0-based position of `bases[0]` on a contig.
    ///   - starts: how many window starts to scan (`nil`: all); lets overlapping chunks avoid
    ///     scanning a window twice.
    public func scan(_ bases: UnsafeBufferPointer<UInt8>, sequence: Int, offset: Int = 0, starts: Int? = nil) {
        let n = bases.count
        guard n > 0 else { return }
        // Codes, and the number of non-ACGT bytes before each position: a window is clean when the
        // count does not change across it.
        var codes = [UInt8](repeating: 4, count: n)
        var bad = [Int32](repeating: 0, count: n + 1)
        let table = Self.codeTable
        for i in 0..<n {
            let c = table[Int(bases[i])]
            codes[i] = c
            bad[i + 1] = bad[i] + (c == 4 ? 1 : 0)
        }
        let limit = min(starts ?? n, n)
        codes.withUnsafeBufferPointer { code in
            bad.withUnsafeBufferPointer { badCount in
                let work = { (m: Int) in
                    self.scan(motif: m, code: code, badCount: badCount, bases: bases, limit: limit, sequence: sequence, offset: offset)
                }
                if threads > 1 && entries.count > 1 && n >= 4096 {
                    let lanes = min(threads, entries.count)
                    Parallel.run(lanes) { lane in
                        var m = lane
                        while m < self.entries.count { work(m); m += lanes }
                    }
                } else {
                    for m in entries.indices { work(m) }
                }
            }
        }
    }

    /// One motif over one buffer; touches only `tallies[m]`.
    private func scan(motif m: Int, code: UnsafeBufferPointer<UInt8>, badCount: UnsafeBufferPointer<Int32>,
                      bases: UnsafeBufferPointer<UInt8>, limit: Int, sequence: Int, offset: Int) {
        let e = entries[m]
        let tally = tallies[m]
        let w = e.motif.width
        let n = code.count
        guard n >= w else { return }
        let last = min(limit, n - w + 1)
        guard last > 0 else { return }
        for (strand, pwm, cutoff) in [(0, e.forward, e.forwardCutoff), (1, e.reverse, e.reverseCutoff)] {
            if strand == 1 && !bothStrands { continue }
            let low = pwm.minScaled
            let cut = cutoff ?? Int.max
            var tested = 0
            var found: [MotifHit] = []
            tally.histograms[strand].withUnsafeMutableBufferPointer { hist in
                pwm.scaledScores.withUnsafeBufferPointer { q in
                    for p in 0..<last where badCount[p + w] == badCount[p] {
                        var s: Int32 = 0
                        var k = 0
                        for i in p..<(p + w) {
                            s &+= q[k + Int(code[i])]
                            k += 4
                        }
                        let score = Int(s)
                        hist[score - low] += 1
                        tested += 1
                        if score >= cut {
                            found.append(hit(m, pwm, codes: code, bases: bases, at: p, strand: strand,
                                             scaled: score, sequence: sequence, offset: offset))
                        }
                    }
                }
            }
            tally.tested += tested
            tally.hits += found
        }
    }

    /// Convenience for arrays.
    public func scan(_ bases: [UInt8], sequence: Int, offset: Int = 0, starts: Int? = nil) {
        bases.withUnsafeBufferPointer { scan($0, sequence: sequence, offset: offset, starts: starts) }
    }

    private func hit(_ m: Int, _ pwm: PositionWeightMatrix, codes: UnsafeBufferPointer<UInt8>, bases: UnsafeBufferPointer<UInt8>,
                     at p: Int, strand: Int, scaled: Int, sequence: Int, offset: Int) -> MotifHit {
        let w = pwm.width
        var bits = 0.0
        for i in 0..<w { bits += pwm.scores[i * 4 + Int(codes[p + i])] }
        var window = Array(bases[p..<(p + w)])
        if strand == 1 { window = Self.reverseComplement(window) }
        return MotifHit(motif: m, sequence: sequence, start: offset + p, width: w, reverse: strand == 1,
                        score: bits, scaledScore: scaled, pValue: pwm.pValue(scaled: scaled), qValue: 1,
                        matched: String(decoding: window, as: UTF8.self))
    }

    /// Reverse complement keeping case; bytes other than ACGT/acgt are kept as they are.
    static func reverseComplement(_ s: [UInt8]) -> [UInt8] {
        s.reversed().map { b in
            switch b {
            case UInt8(ascii: "A"): return UInt8(ascii: "T")
            case UInt8(ascii: "C"): return UInt8(ascii: "G")
            case UInt8(ascii: "G"): return UInt8(ascii: "C")
            case UInt8(ascii: "T"): return UInt8(ascii: "A")
            case UInt8(ascii: "a"): return UInt8(ascii: "t")
            case UInt8(ascii: "c"): return UInt8(ascii: "g")
            case UInt8(ascii: "g"): return UInt8(ascii: "c")
            case UInt8(ascii: "t"): return UInt8(ascii: "a")
            default: return b
            }
        }
    }

    /// Fills in every hit's q-value (Benjamini–Hochberg over all tested windows of its motif,
    /// both strands, all sequences) and returns the hits sorted by sequence, start, strand
    /// (+ first), then motif order.
    public func finish() -> [MotifHit] {
        var q: [[Int: Double]] = []   // per motif: (strand * 2^40 + scaled) → q
        for (m, e) in entries.enumerated() {
            var levels: [(p: Double, count: Int, key: Int, hit: Bool)] = []
            for (strand, pwm, cutoff) in [(0, e.forward, e.forwardCutoff), (1, e.reverse, e.reverseCutoff)] {
                for (k, c) in tallies[m].histograms[strand].enumerated() where c > 0 {
                    let s = pwm.minScaled + k
                    levels.append((pwm.pValue(scaled: s), c, Self.key(strand, s), s >= (cutoff ?? Int.max)))
                }
            }
            let qs = QValues.benjaminiHochberg(levels: levels.map { ($0.p, $0.count) }, tests: tallies[m].tested)
            var map: [Int: Double] = [:]
            for (level, value) in zip(levels, qs) where level.hit { map[level.key] = value }
            q.append(map)
        }
        var out = hits
        for i in out.indices {
            out[i].qValue = q[out[i].motif][Self.key(out[i].reverse ? 1 : 0, out[i].scaledScore)] ?? 1
        }
        out.sort { a, b in
            if a.sequence != b.sequence { return a.sequence < b.sequence }
            if a.start != b.start { return a.start < b.start }
            if a.reverse != b.reverse { return !a.reverse }
            return a.motif < b.motif
        }
        return out
    }

    private static func key(_ strand: Int, _ scaled: Int) -> Int { strand << 40 | (scaled & ((1 << 40) - 1)) }
}
