import Foundation
import XCTest
@testable import DNATasks

/// PWM scoring, exact p-values, hits, q-values and motif parsing, checked against direct definitions.
final class MotifTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/motifs")
    func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    func motifs(_ name: String = "small.jaspar") throws -> [Motif] { try MotifFile.read(path: fixture(name)).motifs }

    static let skewed = try! Background([0.35, 0.15, 0.2, 0.3])

    // MARK: p-values

    /// Every one of the 4^k k-mers, its discretised score from the score table, its probability under
    /// the background: P(S ≥ s) by enumeration must equal the dynamic programme's.
    func testPValuesEqualBruteForceEnumeration() throws {
        for motif in try motifs() {
            for bg in [Background.uniform, Self.skewed] {
                for pwm in [try PositionWeightMatrix(motif: motif, background: bg),
                            try PositionWeightMatrix(motif: motif.reverseComplement(), background: bg)] {
                    let k = pwm.width
                    XCTAssertLessThanOrEqual(k, 8)
                    var mass: [Int: Double] = [:]
                    var total = 0.0
                    for word in 0..<(1 << (2 * k)) {
                        var s = 0, p = 1.0
                        for i in 0..<k {
                            let b = (word >> (2 * i)) & 3
                            s += Int(pwm.scaledScores[i * 4 + b])
                            p *= bg.probabilities[b]
                        }
                        mass[s, default: 0] += p
                        total += p
                    }
                    XCTAssertEqual(total, 1, accuracy: 1e-12)
                    var worst = 0.0
                    var tail = 0.0
                    for s in mass.keys.sorted(by: >) {
                        tail += mass[s]!
                        let dp = pwm.pValue(scaled: s)
                        worst = max(worst, abs(dp - tail) / tail)
                        // Between two reachable scores the tail does not change.
                        XCTAssertEqual(pwm.pValue(scaled: s + 1) <= tail, true)
                    }
                    XCTAssertLessThanOrEqual(worst, 1e-6, "\(motif.id) width \(k)")
                    XCTAssertEqual(pwm.pValue(scaled: pwm.maxScaled + 1), 0)
                    XCTAssertEqual(pwm.pValue(scaled: pwm.minScaled), 1)
                }
            }
        }
    }

    /// Scores are log2((count + 0.1·bg) / (total + 0.1) / bg), discretised at 0.01 bit.
    func testScoresFollowTheStatedPseudocountRule() throws {
        let m = try motifs()[1]
        let bg = Self.skewed
        let pwm = try PositionWeightMatrix(motif: m, background: bg)
        for i in 0..<m.width {
            for b in 0..<4 {
                let p = (m.columns[i][b] + 0.1 * bg.probabilities[b]) / (50 + 0.1)
                XCTAssertEqual(pwm.scores[i * 4 + b], log2(p / bg.probabilities[b]), accuracy: 1e-12)
                XCTAssertEqual(Int(pwm.scaledScores[i * 4 + b]), Int((log2(p / bg.probabilities[b]) * 100).rounded()))
            }
        }
        XCTAssertThrowsError(try PositionWeightMatrix(motif: m, background: bg, pseudocount: 0))   // zero counts
    }

    // MARK: hits

    /// Deterministic pseudo-random bases (xorshift), with some N and lowercase.
    static func randomSequence(_ n: Int, seed: UInt64) -> [UInt8] {
        var x = seed
        let letters = Array("ACGTacgtN".utf8)
        return (0..<n).map { _ in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            let r = Int(x % 1000)
            return r < 960 ? letters[r % 4] : (r < 990 ? letters[4 + r % 4] : letters[8])
        }
    }

    static func revcomp(_ s: [UInt8]) -> [UInt8] { MotifScanner.reverseComplement(s) }

    /// The scanner's hits are exactly the windows without non-ACGT bytes whose brute-force p-value
    /// (enumerated, not the DP) is below the threshold, on either strand.
    func testHitsMatchDirectDefinitionBothStrands() throws {
        let ms = try motifs()
        let seq = Self.randomSequence(5000, seed: 42)
        for bg in [Background.uniform, Self.skewed] {
            let threshold = 0.01
            let scanner = try MotifScanner(motifs: ms, background: bg, threshold: threshold, threads: 2)
            scanner.scan(seq, sequence: 0)
            let got = Set(scanner.finish().map { "\($0.motif) \($0.start) \($0.reverse) \($0.scaledScore) \($0.matched)" })
            var want = Set<String>()
            var tested = 0
            for (m, e) in scanner.entries.enumerated() {
                for (reverse, pwm) in [(false, e.forward), (true, e.reverse)] {
                    let tail = Self.bruteTail(pwm, bg)
                    let w = pwm.width
                    for p in 0...(seq.count - w) {
                        let window = Array(seq[p..<(p + w)])
                        let codes = window.map { MotifScanner.codeTable[Int($0)] }
                        if codes.contains(4) { continue }
                        tested += 1
                        var s = 0
                        for i in 0..<w { s += Int(pwm.scaledScores[i * 4 + Int(codes[i])]) }
                        if tail(s) < threshold {
                            let shown = reverse ? Self.revcomp(window) : window
                            want.insert("\(m) \(p) \(reverse) \(s) \(String(decoding: shown, as: UTF8.self))")
                        }
                    }
                }
            }
            XCTAssertEqual(scanner.tested.reduce(0, +), tested)
            XCTAssertGreaterThan(want.count, 50)
            XCTAssertTrue(want.contains { $0.contains(" true ") } && want.contains { $0.contains(" false ") })
            XCTAssertEqual(got, want)
        }
    }

    /// With a uniform background, the minus-strand score of a window is the plus-strand matrix's
    /// score of its reverse complement.
    func testMinusStrandIsReverseComplementOfWindow() throws {
        let m = try motifs()[1]
        let scanner = try MotifScanner(motifs: [m], background: .uniform, threshold: 1)
        let seq = Self.randomSequence(400, seed: 7)
        scanner.scan(seq, sequence: 0)
        let pwm = scanner.entries[0].forward
        for h in scanner.finish() where h.reverse {
            let rc = Self.revcomp(Array(seq[h.start..<h.end])).map { MotifScanner.codeTable[Int($0)] }
            let direct = pwm.score(codes: rc)
            XCTAssertEqual(direct.scaled, h.scaledScore)
            XCTAssertEqual(direct.bits, h.score, accuracy: 1e-9)
            XCTAssertEqual(h.matched, String(decoding: Self.revcomp(Array(seq[h.start..<h.end])), as: UTF8.self))
        }
    }

    /// P(S = s) for every reachable scaled score s, by enumerating all k-mers (k ≤ 8).
    static func bruteMass(_ pwm: PositionWeightMatrix, _ bg: Background) -> [Int: Double] {
        var mass: [Int: Double] = [:]
        for word in 0..<(1 << (2 * pwm.width)) {
            var s = 0, p = 1.0
            for i in 0..<pwm.width {
                let b = (word >> (2 * i)) & 3
                s += Int(pwm.scaledScores[i * 4 + b]); p *= bg.probabilities[b]
            }
            mass[s, default: 0] += p
        }
        return mass
    }

    /// P(S ≥ s) by enumerating all k-mers (k ≤ 8).
    static func bruteTail(_ pwm: PositionWeightMatrix, _ bg: Background) -> (Int) -> Double {
        let mass = bruteMass(pwm, bg)
        var tail: [Int: Double] = [:]
        var acc = 0.0
        for s in mass.keys.sorted(by: >) { acc += mass[s]!; tail[s] = acc }
        return { s in tail[s]! }   // only reachable scores are asked for
    }

    // MARK: q-values

    /// Direct Benjamini–Hochberg: q_i = min over tests j with p_j ≥ p_i of min(1, p_j · m / rank_j),
    /// rank_j = number of tests with p ≤ p_j.
    /// Literal and cubic: for small inputs only.
    static func directBH(_ p: [Double]) -> [Double] {
        let m = Double(p.count)
        return p.map { pi in
            var q = 1.0
            for pj in p where pj >= pi {
                let rank = Double(p.filter { $0 <= pj }.count)
                q = min(q, pj * m / rank)
            }
            return q
        }
    }

    /// The textbook step-up form over sorted p-values: q(i) = min over k ≥ i of p(k)·m/k, ties
    /// sharing the value at their last rank.
    static func sortedBH(_ p: [Double]) -> [Double] {
        let order = p.indices.sorted { p[$0] < p[$1] }
        let m = Double(p.count)
        var q = [Double](repeating: 1, count: p.count)
        var running = 1.0
        for k in stride(from: order.count - 1, through: 0, by: -1) {
            running = min(running, p[order[k]] * m / Double(k + 1))
            q[order[k]] = running
        }
        // Ties: every member takes the value of the last (highest-rank) one.
        var k = order.count - 1
        while k >= 0 {
            var j = k
            while j > 0 && p[order[j - 1]] == p[order[k]] { j -= 1 }
            for t in j...k { q[order[t]] = q[order[k]] }
            k = j - 1
        }
        return q
    }

    func testBenjaminiHochbergMatchesDirectComputation() {
        var x: UInt64 = 99
        let p: [Double] = (0..<200).map { i in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            let u = Double(x % 10_000) / 10_000
            return i % 7 == 0 ? 0.0005 : (i % 5 == 0 ? u * u * u * 0.01 : u)   // ties and small values
        }
        let got = QValues.benjaminiHochberg(p)
        let want = Self.directBH(p)
        for (g, w) in zip(got, want) { XCTAssertEqual(g, w, accuracy: 1e-12 * max(1, w)) }
        for (g, w) in zip(got, Self.sortedBH(p)) { XCTAssertEqual(g, w, accuracy: 1e-12 * max(1, w)) }
    }

    /// The scanner's q-values equal direct BH over the p-values of every tested window, and a
    /// hit's q-value does not depend on the reporting threshold (all windows count as tests).
    func testScannerQValuesAreOverAllTestedWindows() throws {
        let ms = try motifs()
        let seq = Self.randomSequence(3000, seed: 3)
        let all = try MotifScanner(motifs: ms, background: Self.skewed, threshold: 1.0000001)
        all.scan(seq, sequence: 0)
        let everything = all.finish()
        XCTAssertEqual(everything.count, all.tested.reduce(0, +))
        var byKey: [String: Double] = [:]
        for m in ms.indices {
            let hits = everything.filter { $0.motif == m }
            let q = Self.sortedBH(hits.map(\.pValue))
            for (h, qv) in zip(hits, q) {
                XCTAssertEqual(h.qValue, qv, accuracy: 1e-12 * max(1, qv))
                byKey["\(m) \(h.start) \(h.reverse)"] = qv
            }
        }
        let few = try MotifScanner(motifs: ms, background: Self.skewed, threshold: 0.002)
        few.scan(seq, sequence: 0)
        let hits = few.finish()
        XCTAssertFalse(hits.isEmpty)
        for h in hits { XCTAssertEqual(h.qValue, byKey["\(h.motif) \(h.start) \(h.reverse)"]!, accuracy: 1e-12) }
    }

    // MARK: parsing

    func testJASPARAndMEMEParseTheSameMotifs() throws {
        let (j, jf) = try MotifFile.read(path: fixture("small.jaspar"))
        let (m, mf) = try MotifFile.read(path: fixture("small.meme"))
        XCTAssertEqual(jf, .jaspar)
        XCTAssertEqual(mf, .meme)
        XCTAssertEqual(j.map(\.id), ["TST1.1", "TST2.1"])
        XCTAssertEqual(j.map(\.id), m.map(\.id))
        XCTAssertEqual(j.map(\.altID), ["SHORT", "LONG"])
        XCTAssertEqual(j.map(\.altID), m.map(\.altID))
        for (a, b) in zip(j, m) {
            XCTAssertEqual(a.width, b.width)
            for (ca, cb) in zip(a.columns, b.columns) {
                for (x, y) in zip(ca, cb) { XCTAssertEqual(x, y, accuracy: 1e-9) }
            }
            let pa = try PositionWeightMatrix(motif: a, background: Self.skewed)
            let pb = try PositionWeightMatrix(motif: b, background: Self.skewed)
            XCTAssertEqual(pa.scaledScores, pb.scaledScores)
        }
        let plain = try MotifFile.read(path: fixture("plain.pfm")).motifs
        XCTAssertEqual(plain.count, 1)
        XCTAssertEqual(plain[0].id, "plain")
        XCTAssertEqual(plain[0].columns, j[0].columns)
        let meme = try MEMEFormat.parse(MotifText.lines(of: fixture("small.meme")), file: "small.meme")
        XCTAssertEqual(meme.background, [0.3, 0.2, 0.2, 0.3])
    }

    func testMalformedFilesNameFileAndLine() {
        let cases: [(String, Int?, String)] = [
            ("bad-ragged.jaspar", 4, "ragged"),
            ("bad-nonnumeric.jaspar", 3, "non-numeric value 'x'"),
            ("bad-alphabet.jaspar", 5, "not A, C, G or T"),
            ("bad-empty.jaspar", nil, "no motifs"),
            ("bad-rows.meme", 8, "expected 4"),
            ("bad-alphabet.meme", 3, "not DNA"),
        ]
        for (name, line, text) in cases {
            XCTAssertThrowsError(try MotifFile.read(path: fixture(name)), name) { error in
                guard let e = error as? ToolError else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(e.file, fixture(name))
                XCTAssertEqual(e.line, line, "\(name): \(e)")
                XCTAssertTrue(e.description.contains(text), "\(name): \(e)")
                XCTAssertFalse(e.description.contains("\n"))
            }
        }
    }

    func testBackgroundFile() throws {
        let bg = try Background.read(path: fixture("background.txt"))
        XCTAssertEqual(bg.probabilities, [0.3, 0.2, 0.2, 0.3])
        var comp = BaseComposition()
        comp.add(Array("AACGTNacgtR".utf8))
        XCTAssertEqual(comp.counts, [3, 2, 2, 2])
    }
}
