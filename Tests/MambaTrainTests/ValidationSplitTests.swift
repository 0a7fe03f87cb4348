import Foundation
import MambaModel
@testable import MambaTrain
import XCTest

/// Held-out groups, validation windows of long reads, and base-noise augmentation of the training batches.
final class ValidationSplitTests: XCTestCase {
    /// Three labels of 8 groups each, of 1 to 8 reads: group "c<label>g<k>" has k + 1 reads.
    static func grouped() -> (labels: [Int], groups: [String]) {
        var labels: [Int] = [], groups: [String] = []
        for c in 0..<3 { for k in 0..<8 { for _ in 0...k { labels.append(c); groups.append("c\(c)g\(k)") } } }
        return (labels, groups)
    }

    func testHeldOutGroupsAreWholeSeededAndNearTheFraction() {
        let (labels, groups) = Self.grouped()
        let a = ValidationSplit.heldOutGroups(labels: labels, groups: groups, fraction: 0.25, maxCount: 1000, seed: 1)
        XCTAssertEqual(a, ValidationSplit.heldOutGroups(labels: labels, groups: groups, fraction: 0.25, maxCount: 1000, seed: 1))
        // The input order does not matter, only the seed.
        let order = Array(labels.indices.reversed())
        XCTAssertEqual(a, ValidationSplit.heldOutGroups(labels: order.map { labels[$0] }, groups: order.map { groups[$0] },
                                                        fraction: 0.25, maxCount: 1000, seed: 1))
        let seeds = (2..<8).map { ValidationSplit.heldOutGroups(labels: labels, groups: groups, fraction: 0.25, maxCount: 1000, seed: $0) }
        XCTAssertTrue(seeds.contains { $0 != a })
        for held in [a] + seeds {
            for c in 0..<3 {
                // Each label: about a quarter of its 36 reads, and some of its groups left to train on.
                let n = zip(labels, groups).filter { $0.0 == c && held.contains($0.1) }.count
                XCTAssertEqual(Double(n), 9, accuracy: 4.5, "label \(c): \(held.sorted())")
                XCTAssertLessThan(held.filter { $0.hasPrefix("c\(c)") }.count, 8)
            }
        }
        // --val-max caps the held-out share; fraction 0 holds nothing out.
        let capped = ValidationSplit.heldOutGroups(labels: labels, groups: groups, fraction: 0.5, maxCount: 12, seed: 1)
        XCTAssertLessThanOrEqual(zip(labels, groups).filter { capped.contains($0.1) }.count, 12 + 6)
        XCTAssertEqual(ValidationSplit.heldOutGroups(labels: labels, groups: groups, fraction: 0, maxCount: 100, seed: 1), [])
        // A label with a single group keeps it for training.
        XCTAssertEqual(ValidationSplit.heldOutGroups(labels: [0, 0, 1, 1], groups: ["a", "a", "b", "b"], fraction: 0.9,
                                                     maxCount: 100, seed: 1), [])
    }

    func testLongReadsAreValidatedOnEvenlySpacedWindows() {
        let long = LabelledSequence(tokens: (0..<600).map { Int32($0 % 4) + DNATokenizer.a }, label: 1)
        let short = LabelledSequence(tokens: [DNATokenizer.a, DNATokenizer.c], label: 0)
        let w = ValidationSplit.windows([long, short], length: 150, maxCount: 100)
        XCTAssertEqual(w.count, 6)
        XCTAssertEqual(w.map(\.tokens.count), [150, 150, 150, 150, 150, 2])
        for (item, start) in zip(w, [0, 112, 225, 337, 450]) {
            XCTAssertEqual(item.tokens, Array(long.tokens[start..<(start + 150)]))
            XCTAssertEqual(item.label, 1)
        }
        // --val-max: fewer windows per read (here 3: 0, 225, 450), then fewer items.
        let three = ValidationSplit.windows([long, short], length: 150, maxCount: 4)
        XCTAssertEqual(three.map { $0.tokens.first! }, [0, 225, 450, 0].map { DNATokenizer.a + Int32($0 % 4) })
        XCTAssertEqual(three.map(\.tokens.count), [150, 150, 150, 2])
        XCTAssertEqual(ValidationSplit.windows([long, long, short], length: 150, maxCount: 2).count, 2)
        let one = ValidationSplit.windows([long], length: 150, maxCount: 1)
        XCTAssertEqual(one.map(\.tokens), [Array(long.tokens[225..<375])])
        XCTAssertEqual(ValidationSplit.windows([long], length: 600, maxCount: 10).map(\.tokens), [long.tokens])
    }

    func testSubstitutionsChangeAboutTheRateAndNeverN() {
        var rng = RandomSource(seed: 5)
        let bases: [Int32] = (0..<200_000).map { $0 % 10 == 9 ? DNATokenizer.n : DNATokenizer.a + Int32(rng.nextInt(below: 4)) }
        var t = bases
        SequenceAugmentation(substitutionRate: 0.05).substitute(&t, rng: &rng)
        XCTAssertTrue(zip(bases, t).allSatisfy { $0.0 != DNATokenizer.n || $0.1 == DNATokenizer.n })
        XCTAssertTrue(t.allSatisfy { $0 >= DNATokenizer.a && $0 <= DNATokenizer.n })
        let changed = Double(zip(bases, t).filter { $0.0 != $0.1 }.count) / Double(bases.count - bases.count / 10)
        XCTAssertEqual(changed, 0.05, accuracy: 0.003)
        var u = bases
        SequenceAugmentation().substitute(&u, rng: &rng)
        XCTAssertEqual(u, bases)
        // Indels: the window stays within its length and, at rate 0, is the plain slice.
        let aug = SequenceAugmentation(indelRate: 0.1)
        var lengths: [Int] = []
        for s in stride(from: 0, to: 100_000, by: 997) {
            let w = aug.window(of: bases, start: s, length: 150, rng: &rng)
            XCTAssertLessThanOrEqual(w.count, 150)
            lengths.append(w.count)
        }
        XCTAssertEqual(lengths.filter { $0 == 150 }.count, lengths.count)
        XCTAssertEqual(SequenceAugmentation().window(of: bases, start: 7, length: 150, rng: &rng), Array(bases[7..<157]))
        XCTAssertNotEqual(aug.window(of: bases, start: 7, length: 150, rng: &rng), Array(bases[7..<157]))
    }

    func trainer(substitution: Double, indel: Double = 0, validation: [LabelledSequence] = []) throws -> ClassifierTrainer {
        var o = ClassifierTrainingOptions()
        o.steps = 6; o.batchTokens = 600; o.maxLength = 50; o.learningRate = 1e-2; o.evalEvery = 1; o.logEvery = 1000
        o.seed = 9; o.reverseComplement = false; o.substitutionRate = substitution; o.indelRate = indel
        let data = ClassifierTrainingTests.gcReads(40, length: 120, seed: 6)
        return ClassifierTrainer(model: try ClassifierTrainingTests.tinyModel(), train: data,
                                 validation: validation, options: o)
    }

    func testTrainingBatchesGetNoiseOnTheSameWindows() throws {
        let plain = try trainer(substitution: 0), noisy = try trainer(substitution: 0.05)
        var changed = 0, total = 0
        for step in 0..<40 {
            let idx = Array(0..<40)
            let a = plain.batch(idx, step: step).batch.seqs, b = noisy.batch(idx, step: step).batch.seqs
            XCTAssertEqual(b, noisy.batch(idx, step: step).batch.seqs)     // a function of (seed, step)
            XCTAssertEqual(a.map(\.count), b.map(\.count))
            for (x, y) in zip(a, b) { total += x.count; changed += zip(x, y).filter { $0.0 != $0.1 }.count }
        }
        XCTAssertEqual(Double(changed) / Double(total), 0.05, accuracy: 0.006)
        // Indels keep every training window within --max-length.
        let indels = try trainer(substitution: 0, indel: 0.1)
        XCTAssertTrue(indels.batch(Array(0..<40), step: 3).batch.seqs.allSatisfy { $0.count <= 50 && !$0.isEmpty })
    }

    func testValidationIsNeverAugmented() throws {
        let val = ClassifierTrainingTests.gcReads(12, length: 60, seed: 8)
        let t = try trainer(substitution: 0.3, indel: 0.05, validation: val)
        let s = try t.run()
        // The best result was measured on the reads as they are: the restored best weights give it again.
        let best = try XCTUnwrap(s.best)
        let again = ClassifierTrainer.evaluate(t.model, val, threads: 1)
        XCTAssertEqual(best.loss, again.loss)
        XCTAssertEqual(best.accuracy, again.accuracy)
        XCTAssertEqual(best.count, val.count)
    }
}
