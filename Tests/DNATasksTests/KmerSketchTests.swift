import Foundation
import TestSupport
import XCTest
@testable import DNATasks

/// The sketch mode of the k-mer index: k-mer encoding and hashing against a plain reference, canonical k-mers,
/// counting and the decision rule (the file format: `KmerIndexTests`).
final class KmerSketchTests: XCTestCase {
    // MARK: reference implementation, one k-mer at a time from its characters

    static func fmix64(_ v: UInt64) -> UInt64 {
        var x = v
        x ^= x >> 33; x = x &* 0xff51afd7ed558ccd; x ^= x >> 33; x = x &* 0xc4ceb9fe1a85ec53; x ^= x >> 33
        return x
    }

    static func code(_ c: Character) -> UInt64? {
        switch c { case "A", "a": return 0; case "C", "c": return 1; case "G", "g": return 2; case "T", "t": return 3; default: return nil }
    }

    /// Every sampled k-mer's hash, in read order: each window packed from its characters, its reverse complement
    /// packed from the complemented characters read backwards.
    static func referenceHashes(_ s: String, k: Int, scaled: UInt64) -> [UInt64] {
        let chars = Array(s)
        guard chars.count >= k else { return [] }
        var out: [UInt64] = []
        for start in 0...(chars.count - k) {
            let window = chars[start..<(start + k)]
            guard window.allSatisfy({ code($0) != nil }) else { continue }
            var forward: UInt64 = 0, reverse: UInt64 = 0
            for c in window { forward = forward * 4 + code(c)! }
            for c in window.reversed() { reverse = reverse * 4 + (3 - code(c)!) }
            let h = fmix64(min(forward, reverse))
            if h % scaled == 0 { out.append(h) }
        }
        return out
    }

    static func rolling(_ s: String, k: Int, scaled: Int) -> [UInt64] {
        var out: [UInt64] = []
        Array(s.utf8).withUnsafeBufferPointer { KmerCode.forEachSampledHash($0, k: k, scaled: scaled) { out.append($0) } }
        return out
    }

    // MARK: k-mers and hashes

    /// ACGTT packs to 0b00_01_10_11_11 = 111, its reverse complement AACGT to 0b00_00_01_10_11 = 27; the canonical
    /// value is 27, fmix64(27) = 0x7ed3adb081e15aec (worked out from the formula), fingerprint 0x7ed3adb0.
    func testHandWorkedFiveMer() {
        XCTAssertEqual(Self.referenceHashes("ACGTT", k: 5, scaled: 1), [0x7ed3_adb0_81e1_5aec])
        XCTAssertEqual(Self.rolling("ACGTT", k: 5, scaled: 1), [0x7ed3_adb0_81e1_5aec])
        XCTAssertEqual(Self.rolling("aacgt", k: 5, scaled: 1), [0x7ed3_adb0_81e1_5aec])
        XCTAssertEqual(KmerCode.fingerprint(0x7ed3_adb0_81e1_5aec), 0x7ed3_adb0)
        // 0x…5aec % 16 = 12: not sampled at scaled 16, sampled at scaled 4.
        XCTAssertEqual(Self.rolling("ACGTT", k: 5, scaled: 16), [])
        XCTAssertEqual(Self.rolling("ACGTT", k: 5, scaled: 4), [0x7ed3_adb0_81e1_5aec])
    }

    func testRollingMatchesReferenceOnRandomSequences() {
        let alphabet: [Character] = ["A", "C", "G", "T", "a", "c", "g", "t", "N", "A", "C", "G", "T"]
        for (i, k) in [1, 2, 5, 13, 21, 31].enumerated() {
            for scaled in [1, 4, 16] {
                let s = TestSequences.random(400, seed: UInt64(10 * i + scaled), alphabet: alphabet)
                let expected = Self.referenceHashes(s, k: k, scaled: UInt64(scaled))
                XCTAssertEqual(Self.rolling(s, k: k, scaled: scaled), expected, "k \(k), scaled \(scaled)")
                if k <= 5 && scaled == 1 { XCTAssertFalse(expected.isEmpty) }
            }
        }
    }

    func testKmerWithNIsNeverSampled() {
        XCTAssertEqual(Self.rolling("ACGTNACGT", k: 5, scaled: 1), [])
        XCTAssertEqual(Self.rolling("ACGTNACGT", k: 4, scaled: 1), Self.rolling("ACGT", k: 4, scaled: 1) + Self.rolling("ACGT", k: 4, scaled: 1))
        XCTAssertEqual(Self.rolling("ACG-TACGTRACGT", k: 4, scaled: 1).count, 3)  // TACG, ACGT; ACGT
        XCTAssertEqual(Self.rolling(String(repeating: "N", count: 50), k: 3, scaled: 1), [])
    }

    func testReadAndReverseComplementGiveTheSameHits() {
        let genomes = (0..<3).map { TestSequences.random(3000, seed: 100 + UInt64($0)) }
        var p = KmerSketch.Parameters(); p.k = 15; p.scaled = 4; p.minCount = 1
        var builder = KmerIndexBuilder(parameters: .sketch(p), labels: ["a", "b", "c"])
        for (c, g) in genomes.enumerated() { builder.add(Array(g.utf8), classIndex: c) }
        let sketch = KmerSketch(builder.build().index)
        var total = 0
        for (c, g) in genomes.enumerated() {
            for start in stride(from: 0, to: 2800, by: 250) {
                var read = String(Array(g)[start..<(start + 150)])
                if start % 500 == 0 { read = read.lowercased() }
                if start % 750 == 0 { read = String(read.prefix(70)) + "N" + String(read.dropFirst(71)) }
                let hits = sketch.hits(read)
                XCTAssertEqual(hits, sketch.hits(TestSequences.reverseComplement(read)))
                XCTAssertGreaterThan(hits[c], 10)
                XCTAssertEqual(sketch.decide(hits), c)
                total += hits[c]
            }
        }
        // The batch form gives the same counts on any number of threads.
        let reads = (0..<600).map { i in Array(genomes[i % 3].utf8)[(i % 20 * 100)..<(i % 20 * 100 + 120)].map { $0 } }
        let one = sketch.hits(reads, threads: 1)
        XCTAssertEqual(sketch.hits(reads, threads: 3), one)
        XCTAssertEqual(Array(one[(5 * 3)..<(6 * 3)]).map(Int.init), sketch.hits(reads[5]))
        XCTAssertGreaterThan(total, 0)
    }

    // MARK: building

    func testMinCountDropsKmersSeenOnce() {
        var p = KmerSketch.Parameters(); p.k = 5; p.scaled = 1; p.minCount = 2
        let once = "ACGTTGCA", twice = "GGGATACATTAG"
        func build(minCount: Int) -> [UInt32] {
            p.minCount = minCount
            var b = KmerIndexBuilder(parameters: .sketch(p), labels: ["x", "y"])
            b.add(Array(once.utf8), classIndex: 0)
            b.add(Array(twice.utf8), classIndex: 0)
            b.add(Array(TestSequences.reverseComplement(twice).utf8), classIndex: 0)  // the same canonical k-mers again
            return Array(b.build().index.words(ofClass: 0))
        }
        let fingerprints = { (s: String) in Set(Self.referenceHashes(s, k: 5, scaled: 1).map { UInt32($0 >> 32) }) }
        XCTAssertEqual(Set(build(minCount: 2)), fingerprints(twice).subtracting(fingerprints(once)))
        XCTAssertEqual(Set(build(minCount: 1)), fingerprints(twice).union(fingerprints(once)))
        XCTAssertEqual(build(minCount: 1), build(minCount: 1).sorted())
        XCTAssertEqual(build(minCount: 3), [])
    }

    func testDecide() {
        func d(_ h: [Int], minHits: Int = 2, dominance: Double = 4) -> Int? {
            KmerSketch.decide(h, minHits: minHits, dominance: dominance)
        }
        XCTAssertNil(d([0, 0, 0]))
        XCTAssertNil(d([1, 0, 0]))                       // below minHits
        XCTAssertEqual(d([1, 0, 0], minHits: 1), 0)
        XCTAssertEqual(d([0, 2, 0]), 1)                  // runner-up 0
        XCTAssertNil(d([5, 5, 0]))                       // tie
        XCTAssertNil(d([3, 3, 0], dominance: 1))         // a tie never decides
        XCTAssertEqual(d([0, 8, 2]), 1)                  // exactly 4×
        XCTAssertNil(d([0, 7, 2]))                       // below 4×
        XCTAssertEqual(d([7, 2, 0], dominance: 3.5), 0)
        XCTAssertEqual(d([1, 2, 9]), 2)                  // the runner-up is the second highest, not the sum
        XCTAssertNil(d([]))
    }
}
