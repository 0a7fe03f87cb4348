import Foundation
import TestSupport
import XCTest
@testable import DNATasks

/// The profile mode of the k-mer index (naive Bayes): word encoding against a plain reference, the training formula
/// on a hand-made example, scoring on both strands and combination with model logits (the file format:
/// `KmerIndexTests`).
final class KmerProfileTests: XCTestCase {
    // MARK: reference implementation, one word at a time from its characters

    /// Every complete word's packed index, in read order, from the word's characters.
    static func referenceWords(_ s: String, k: Int) -> [Int] {
        let chars = Array(s)
        guard chars.count >= k else { return [] }
        return (0...(chars.count - k)).compactMap { start in
            let codes = chars[start..<(start + k)].map(KmerSketchTests.code)
            guard codes.allSatisfy({ $0 != nil }) else { return nil }
            return codes.reduce(0) { $0 * 4 + Int($1!) }
        }
    }

    static func rolling(_ s: String, k: Int) -> (forward: [Int], reverse: [Int]) {
        var f: [Int] = [], r: [Int] = []
        Array(s.utf8).withUnsafeBufferPointer { KmerCode.forEachWord($0, k: k) { f.append(Int($0)); r.append(Int($1)) } }
        return (f, r)
    }

    func testWordsMatchReferenceOnRandomSequences() {
        let alphabet: [Character] = ["A", "C", "G", "T", "a", "c", "g", "t", "N", "A", "C", "G", "T", "-"]
        for k in [1, 2, 3, 5, 8, 12] {
            let s = TestSequences.random(500, seed: 70 + UInt64(k), alphabet: alphabet)
            let (forward, reverse) = Self.rolling(s, k: k)
            XCTAssertEqual(forward, Self.referenceWords(s, k: k), "k \(k)")
            // The reverse-complement words are the reverse complement's words, read backwards.
            XCTAssertEqual(reverse, Self.referenceWords(TestSequences.reverseComplement(s), k: k).reversed(), "k \(k)")
            XCTAssertTrue(forward.allSatisfy { $0 < 1 << (2 * k) })
            if k <= 5 { XCTAssertFalse(forward.isEmpty) }
        }
        XCTAssertEqual(Self.rolling("ACGT", k: 4).forward, [0b00_01_10_11])
        XCTAssertEqual(Self.rolling("acgNtac", k: 2).forward, [1, 6, 12, 1])  // AC CG | TA AC
    }

    // MARK: training

    /// Two classes, three sequences, k = 2: every table entry against the formula worked out here from word sets.
    func testTrainingFormulaOnHandMadeExample() {
        let training: [(String, Int)] = [("ACGTAC", 0), ("AAAN", 0), ("acgg", 1)]  // AC twice and AA twice count once
        var p = KmerProfile.Parameters(); p.k = 2
        var builder = KmerIndexBuilder(parameters: .profile(p), labels: ["x", "y"])
        for (s, c) in training { builder.add(Array(s.utf8), classIndex: c) }
        let (index, summaries) = builder.build()
        let profile = KmerProfile(index)
        XCTAssertEqual(profile.classSequences, [2, 1])
        XCTAssertEqual(summaries, [.init(reads: 2, keys: 5, distinct: 5, kept: 5), .init(reads: 1, keys: 3, distinct: 3, kept: 3)])
        // The stored form: per class the words present (AA, AC, CG, GT, TA; AC, CG, GG) and the sequences holding each.
        XCTAssertEqual(Array(index.words(ofClass: 0)), [0, 1, 6, 11, 12])
        XCTAssertEqual(Array(index.counts(ofClass: 0)), [1, 1, 1, 1, 1])
        XCTAssertEqual(Array(index.words(ofClass: 1)), [1, 6, 10])

        let sets = training.map { (Set(Self.referenceWords($0.0, k: 2)), $0.1) }
        let N = 3.0, Nc = [2.0, 1.0]
        for w in 0..<16 {
            let n = [0, 1].map { c in Double(sets.filter { $0.1 == c && $0.0.contains(w) }.count) }
            let prior = (n[0] + n[1] + 0.5) / (N + 1)
            for c in 0..<2 {
                XCTAssertEqual(profile.logProbability(word: w, classIndex: c), Float(log((n[c] + prior) / (Nc[c] + 1))),
                               accuracy: 1e-6, "word \(w) class \(c)")
            }
        }
        // AC (index 1): in one x sequence (twice, counted once) and in the y one; AA (0): in one x sequence only.
        XCTAssertEqual(profile.logProbability(word: 1, classIndex: 0), Float(log((1 + 2.5 / 4) / 3)), accuracy: 1e-6)
        XCTAssertEqual(profile.logProbability(word: 0, classIndex: 1), Float(log((0 + 1.5 / 4) / 2)), accuracy: 1e-6)
    }

    // MARK: scoring

    func profile(strands: KmerProfile.Strands, k: Int = 6) -> (KmerProfile, [String]) {
        let genomes = (0..<3).map { TestSequences.random(2000, seed: 200 + UInt64($0)) }
        var p = KmerProfile.Parameters(); p.k = k; p.strands = strands
        var builder = KmerIndexBuilder(parameters: .profile(p), labels: ["a", "b", "c"])
        for (c, g) in genomes.enumerated() {
            for start in stride(from: 0, to: 1800, by: 100) { builder.add(Array(Array(g.utf8)[start..<(start + 200)]), classIndex: c) }
        }
        return (KmerProfile(builder.build().index), genomes)
    }

    func testScoresSumWordLogProbabilitiesAndBothStrandsAgree() {
        let (both, genomes) = profile(strands: .both)
        let (forward, _) = profile(strands: .forward)
        var differs = 0
        for (c, g) in genomes.enumerated() {
            for start in stride(from: 0, to: 1850, by: 170) {
                var read = String(Array(g)[start..<(start + 150)])
                if start % 340 == 0 { read = read.lowercased() }
                if start % 510 == 0 { read = String(read.prefix(70)) + "N" + String(read.dropFirst(71)) }
                let rc = TestSequences.reverseComplement(read)
                // Forward: the plain sum over the read's words.
                let words = Self.referenceWords(read, k: 6)
                let expected = (0..<3).map { k in words.reduce(0.0) { $0 + Double(forward.logProbability(word: $1, classIndex: k)) } }
                for (a, b) in zip(forward.scores(read), expected) { XCTAssertEqual(a, b, accuracy: 1e-9 * abs(b)) }
                // Both: exactly the same scores for the read and its reverse complement, the better strand's.
                let s = both.scores(read)
                XCTAssertEqual(s, both.scores(rc))
                XCTAssertEqual(s.indices.max { s[$0] < s[$1] }, c)
                if forward.scores(read) != forward.scores(rc) { differs += 1 }
            }
        }
        XCTAssertGreaterThan(differs, 0)
        // Shorter than k, or no complete word: all 0 (the model alone).
        XCTAssertEqual(both.scores("ACGTA"), [0, 0, 0])
        XCTAssertEqual(both.scores("ACGTANNACGTA"), [0, 0, 0])
        // The batch form gives the same scores on any number of threads.
        let reads = (0..<700).map { i in Array(Array(genomes[i % 3].utf8)[(i % 17 * 100)..<(i % 17 * 100 + 130)]) }
        let one = both.scores(reads, threads: 1)
        XCTAssertEqual(both.scores(reads, threads: 3), one)
        XCTAssertEqual(Array(one[(5 * 3)..<(6 * 3)]), both.scores(reads[5]))
    }

    func testProbabilitiesCombineLogSoftmaxAndWeightedScores() {
        let logits: [Float] = [2, 0, -1, 0.5, 0.5, 0.5]
        let scores: [Double] = [-300, -290, -310, -10, -12, -10]
        let softmax: [Float] = (0..<2).flatMap { r in
            let e = logits[(3 * r)..<(3 * r + 3)].map { exp(Double($0)) }
            return e.map { Float($0 / e.reduce(0, +)) }
        }
        let alone = KmerProfile.probabilities(logits: logits, scores: scores, weight: 0, classes: 3)
        for (a, b) in zip(alone, softmax) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        let p = KmerProfile.probabilities(logits: logits, scores: scores, weight: 0.1, classes: 3)
        XCTAssertEqual(p[0..<3].reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(p[3..<6].reduce(0, +), 1, accuracy: 1e-6)
        // Row 0: log softmax + 0.1 × scores = (2 - 30, 0 - 29, -1 - 31) - lse: class 1 wins, as computed here.
        let f: [Double] = [2.0 - 30, 0 - 29, -1 - 31], z = f.map { exp($0 - f.max()!) }.reduce(0, +)
        XCTAssertEqual(Double(p[1]), exp(f[1] - f.max()!) / z, accuracy: 1e-6)
        // A huge weight: the profile alone decides (ties shared).
        let nb = KmerProfile.probabilities(logits: logits, scores: scores, weight: 1000, classes: 3)
        XCTAssertEqual(nb, [0, 1, 0, 0.5, 0, 0.5])
    }
}
