import Foundation
import XCTest
@testable import DNATasks

/// The false-positive-rate threshold rule and the per-base pseudocount rule (Biopython's scan
/// definition), checked against brute-force enumeration and end to end through the CLI.
final class MotifThresholdRuleTests: XCTestCase {
    func motifs() throws -> [Motif] { try MotifFile.read(path: MotifTests.fixtures.appendingPathComponent("small.jaspar").path).motifs }

    /// A 6 bp palindrome (CACGTG) with sharp counts: its best word has p = 0.25^6 ≈ 2.4e-4 under a
    /// uniform background, so FIMO's rule at 1e-4 admits nothing and the fpr rule admits that word.
    static let palindrome = Motif(id: "PAL.1", altID: "EBOX", columns: [
        [0, 40, 0, 0], [40, 0, 0, 0], [0, 40, 0, 0], [0, 0, 40, 0], [0, 0, 0, 40], [0, 0, 40, 0]])

    /// Biopython's walk on the enumerated distribution: from the best score down, add probabilities
    /// until the tail reaches the rate; that score is the cutoff.
    static func bruteFPRCutoff(_ pwm: PositionWeightMatrix, _ bg: Background, rate: Double) -> Int {
        let mass = MotifTests.bruteMass(pwm, bg)
        var tail = 0.0
        let levels = mass.keys.sorted(by: >)
        for s in levels {
            tail += mass[s]!
            if tail >= rate { return s }
        }
        return levels.last!
    }

    func testFPRCutoffEqualsBruteForceWalk() throws {
        var checked = 0
        for motif in try motifs() + [Self.palindrome] {
            for bg in [Background.uniform, MotifTests.skewed] {
                for (rule, pseudo) in [(PositionWeightMatrix.PseudocountRule.spread, 0.1), (.perBase, 0.5)] {
                    let pwm = try PositionWeightMatrix(motif: motif, background: bg, pseudocount: pseudo, pseudocountRule: rule)
                    for rate in [0.3, 0.05, 3e-3, 7e-4, 1e-4, 3e-5] {
                        let want = Self.bruteFPRCutoff(pwm, bg, rate: rate)
                        let got = pwm.cutoff(falsePositiveRate: rate)
                        XCTAssertEqual(got, want, "\(motif.id) \(rule) rate \(rate)")
                        XCTAssertEqual(pwm.cutoff(threshold: rate, rule: .fpr), got)
                        // The tail at the cutoff reaches the rate; one step higher it does not.
                        XCTAssertGreaterThanOrEqual(pwm.pValue(scaled: got), rate)
                        XCTAssertLessThan(pwm.pValue(scaled: got + 1), rate)
                        // FIMO's cutoff is the next scaled score, or none when the best word is too common.
                        if let fimo = pwm.cutoff(pValue: rate) { XCTAssertEqual(fimo, got + 1) } else { XCTAssertEqual(got, pwm.maxScaled) }
                        checked += 1
                    }
                    XCTAssertEqual(pwm.cutoff(falsePositiveRate: 1.5), pwm.minScaled, "a rate above 1 admits every window")
                }
            }
        }
        XCTAssertEqual(checked, 3 * 2 * 2 * 6)
    }

    /// per-base: p = (count + π) / (total + 4π), Biopython's normalize(pseudocounts=π).
    func testPerBasePseudocountProbabilities() throws {
        let m = try motifs()[0]
        let bg = MotifTests.skewed
        let pwm = try PositionWeightMatrix(motif: m, background: bg, pseudocount: 0.5, pseudocountRule: .perBase)
        for (i, column) in m.columns.enumerated() {
            let total = column.reduce(0, +)
            for b in 0..<4 {
                let p = (column[b] + 0.5) / (total + 2)
                XCTAssertEqual(pwm.scores[i * 4 + b], log2(p / bg.probabilities[b]), accuracy: 1e-12)
            }
        }
        let spread = try PositionWeightMatrix(motif: m, background: bg, pseudocount: 0.5)
        XCTAssertNotEqual(spread.scores, pwm.scores)
    }

    /// The scanner under the fpr rule reports exactly the windows whose enumerated score is at least the
    /// brute-force cutoff, both strands, and q-values for all of them.
    func testFPRHitsMatchDirectDefinition() throws {
        let ms = try motifs() + [Self.palindrome]
        var seq = MotifTests.randomSequence(6000, seed: 3)
        for p in stride(from: 100, to: 5900, by: 500) { seq.replaceSubrange(p..<(p + 6), with: Array("CACGTG".utf8)) }
        let bg = MotifTests.skewed, rate = 1e-3
        let scanner = try MotifScanner(motifs: ms, background: bg, pseudocount: 0.5, pseudocountRule: .perBase,
                                       threshold: rate, thresholdRule: .fpr)
        scanner.scan(seq, sequence: 0)
        let hits = scanner.finish()
        let got = Set(hits.map { "\($0.motif) \($0.start) \($0.reverse)" })
        var want = Set<String>()
        for (m, e) in scanner.entries.enumerated() {
            for (reverse, pwm) in [(false, e.forward), (true, e.reverse)] {
                let cut = Self.bruteFPRCutoff(pwm, bg, rate: rate)
                for p in 0...(seq.count - pwm.width) {
                    let codes = seq[p..<(p + pwm.width)].map { MotifScanner.codeTable[Int($0)] }
                    if codes.contains(4) { continue }
                    if pwm.score(codes: codes).scaled >= cut { want.insert("\(m) \(p) \(reverse)") }
                }
            }
        }
        XCTAssertGreaterThan(want.count, 30)
        XCTAssertEqual(got, want)
        XCTAssertTrue(hits.allSatisfy { $0.qValue > 0 && $0.qValue <= 1 })
    }

    // MARK: CLI

    var work: URL!
    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("motif-rule-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }
    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// The E-box word is reported under `--threshold-rule fpr` (both strands of every occurrence) and
    /// not under the default FIMO rule, which says why.
    func testCLIThresholdRules() throws {
        try ">PAL.1 EBOX\nA [ 0 40 0 0 0 0 ]\nC [ 40 0 40 0 0 0 ]\nG [ 0 0 0 40 0 40 ]\nT [ 0 0 0 0 40 0 ]\n"
            .write(toFile: path("pal.jaspar"), atomically: true, encoding: .utf8)
        var seq = MotifTests.randomSequence(3000, seed: 9)
        for p in [50, 700, 2100] { seq.replaceSubrange(p..<(p + 6), with: Array("CACGTG".utf8)) }
        let text = String(decoding: seq, as: UTF8.self)
        // The random sequence has soft-masked (lowercase) stretches, which are scanned like uppercase.
        let occurrences = (0...(seq.count - 6)).filter { String(decoding: seq[$0..<($0 + 6)], as: UTF8.self).uppercased() == "CACGTG" }
        try ">s1\n\(text)\n".write(toFile: path("s.fa"), atomically: true, encoding: .utf8)

        let fpr = try CLIRunner.run(["annotate", path("s.fa"), "--motifs", path("pal.jaspar"), "--threshold-rule", "fpr",
                                     "--pseudocount-rule", "per-base", "--pseudocount", "0.5", "-o", path("fpr.bed")])
        XCTAssertEqual(fpr.status, 0, fpr.stderr)
        let bedLines = try String(contentsOfFile: path("fpr.bed"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(bedLines.first?.hasPrefix("#chrom\tstart\tend\tname\tscore\tstrand"), true)
        let rows = bedLines.dropFirst().map { $0.split(separator: "\t") }
        XCTAssertGreaterThanOrEqual(occurrences.count, 3)
        XCTAssertEqual(rows.count, 2 * occurrences.count)
        XCTAssertEqual(Set(rows.map { Int($0[1])! }), Set(occurrences))
        XCTAssertEqual(Set(rows.map { String($0[5]) }), ["+", "-"])
        XCTAssertTrue(rows.allSatisfy { Double($0[7])! >= 1e-4 && $0[9].uppercased() == "CACGTG" }, "p-values at the cutoff reach the rate")

        let fimo = try CLIRunner.run(["annotate", path("s.fa"), "--motifs", path("pal.jaspar"), "--pseudocount-rule", "per-base",
                                      "--pseudocount", "0.5", "-o", path("fimo.bed")])
        XCTAssertEqual(fimo.status, 0, fimo.stderr)
        XCTAssertEqual(try String(contentsOfFile: path("fimo.bed"), encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }, [])
        XCTAssertTrue(fimo.stderr.contains("0.0001"), "the note names the threshold no window can reach: \(fimo.stderr)")

        for bad in [["--threshold-rule", "best"], ["--pseudocount-rule", "half"]] {
            let r = try CLIRunner.run(["annotate", path("s.fa"), "--motifs", path("pal.jaspar"), "-o", path("bad.bed")] + bad)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertEqual(r.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(bad[0]), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.bed")))
        }
    }

    /// A motif file that is missing or unreadable: one line naming it, no output.
    func testMissingMotifFile() throws {
        try ">s1\nACGTACGTACGT\n".write(toFile: path("s.fa"), atomically: true, encoding: .utf8)
        let r = try CLIRunner.run(["annotate", path("s.fa"), "--motifs", path("none.jaspar"), "-o", path("o.bed"), "--tsv", path("o.tsv")])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(path("none.jaspar")), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), ["s.fa"])
    }
}
