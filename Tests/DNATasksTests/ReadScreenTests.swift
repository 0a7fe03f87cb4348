import TestSupport
import XCTest
@testable import DNATasks

/// Which reads `classify` leaves unclassified before any model runs, and the DUST score behind `low-complexity`.
final class ReadScreenTests: XCTestCase {
    let screen = ReadScreen()

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testDustScoreAgainstItsClosedForms() {
        // Homopolymer of n bases: one triplet type seen l = n − 2 times: l(l − 1)/2 / (l − 1) = l/2.
        XCTAssertEqual(ReadScreen.dustScore(bytes(String(repeating: "A", count: 64))[...]), 31, accuracy: 1e-12)
        // Dinucleotide repeat: two triplet types, l/2 each: 2·(l/2)(l/2 − 1)/2 / (l − 1).
        let l = 62.0
        XCTAssertEqual(ReadScreen.dustScore(bytes(String(repeating: "AT", count: 32))[...]),
                       2 * (l / 2) * (l / 2 - 1) / 2 / (l - 1), accuracy: 1e-12)
        // All 64 triplets once (a de Bruijn sequence of order 3, 66 bases): no pair repeats.
        let deBruijn = Self.deBruijn3()
        XCTAssertEqual(Set((0..<64).map { Array(deBruijn.utf8)[$0..<($0 + 3)] }).count, 64)
        XCTAssertEqual(ReadScreen.dustScore(bytes(deBruijn)[...]), 0)
        // Period-p tandem repeats over 64 bases: ½(62/p − 1) when p divides 62 evenly enough; at least 5 up to p = 5.
        for (unit, p) in [("CA", 2.0), ("GAT", 3), ("GATC", 4), ("GATCC", 5)] {
            let s = bytes(String(String(repeating: unit, count: 64 / unit.count + 1).prefix(64)))
            XCTAssertEqual(ReadScreen.dustScore(s[...]), 0.5 * (62 / p - 1), accuracy: 0.6, unit)
            XCTAssertGreaterThan(ReadScreen.dustScore(s[...]), ReadScreen().dustThreshold, unit)
        }
        // Triplets with another letter do not count.
        XCTAssertEqual(ReadScreen.dustScore(bytes("NNNNNNNN")[...]), 0)
    }

    func testRandomSequenceIsClassified() {
        for seed in 0..<200 as Range<UInt64> {
            let read = bytes(TestSequences.random(150, seed: seed))
            XCTAssertNil(screen.reason(read), "seed \(seed)")
        }
        // Lower case and a minority of Ns do not matter.
        var read = bytes(TestSequences.random(150, seed: 7).lowercased())
        for i in stride(from: 0, to: 150, by: 4) { read[i] = UInt8(ascii: "N") }
        XCTAssertNil(screen.reason(read))
    }

    func testReasons() {
        XCTAssertEqual(screen.reason([]), .tooShort)
        XCTAssertEqual(screen.reason(bytes("ACGTA")), .tooShort)
        XCTAssertEqual(screen.reason(bytes(TestSequences.random(screen.minLength - 1, seed: 1))), .tooShort)
        XCTAssertNil(screen.reason(bytes(TestSequences.random(screen.minLength, seed: 1))))
        XCTAssertEqual(screen.reason(bytes(String(repeating: "N", count: 150))), .ambiguous)
        // Protein: only a quarter of the residues are letters that are also bases.
        let protein = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDWUAGR"
        XCTAssertEqual(screen.reason(bytes(protein)), .ambiguous)
        XCTAssertEqual(screen.reason(bytes(String(repeating: "A", count: 150))), .lowComplexity)
        XCTAssertEqual(screen.reason(bytes(String(repeating: "CA", count: 75))), .lowComplexity)
        XCTAssertEqual(screen.reason(bytes(String(repeating: "GAT", count: 50))), .lowComplexity)
        // A repeat over less than half the read leaves it classified (the last window, 64 of 150 bases, is masked).
        let mixed = TestSequences.random(110, seed: 3) + String(repeating: "A", count: 40)
        XCTAssertEqual(screen.lowComplexityFraction(bytes(mixed)), 64.0 / 150, accuracy: 1e-12)
        XCTAssertNil(screen.reason(bytes(mixed)))
        XCTAssertEqual(screen.reason(bytes(String(repeating: "A", count: 100) + TestSequences.random(50, seed: 3))), .lowComplexity)
    }

    /// The de Bruijn sequence of order 3 over A/C/G/T (Lyndon-word construction), made linear: 66 bases holding
    /// each of the 64 triplets once.
    static func deBruijn3() -> String {
        let alphabet = Array("ACGT"), n = 3
        var a = [Int](repeating: 0, count: 4 * n), seq: [Int] = []
        func db(_ t: Int, _ p: Int) {
            if t > n {
                if n % p == 0 { seq += a[1...p] }
                return
            }
            a[t] = a[t - p]
            db(t + 1, p)
            for j in (a[t - p] + 1)..<4 {
                a[t] = j
                db(t + 1, t)
            }
        }
        db(1, 1)
        return String((seq + seq.prefix(n - 1)).map { alphabet[$0] })
    }
}
