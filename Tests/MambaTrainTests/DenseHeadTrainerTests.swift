import Foundation
import MambaModel
import XCTest
@testable import MambaTrain

/// `DenseHeadTrainer` (the variant genotyper's training) through the shared `TrainingLoop`.
final class DenseHeadTrainerTests: XCTestCase {
    /// Two layers in plain loops, ReLU between.
    final class TinyHead: DenseHead {
        let widths: [Int]
        let layers: [(weight: Tensor, bias: Tensor)]
        init(widths: [Int], seed: UInt64) {
            self.widths = widths
            var rng = RandomSource(seed: seed)
            layers = (0..<(widths.count - 1)).map { i in
                let (n, m) = (widths[i + 1], widths[i])
                let w = (0..<(n * m)).map { _ in Float(rng.nextDouble() * 2 - 1) * Float((2.0 / Double(m)).squareRoot()) }
                return (Tensor(shape: [n, m], values: w), Tensor(shape: [n]))
            }
        }
        func forward(_ x: [Float], rows: Int) -> [[Float]] {
            var acts: [[Float]] = [], input = x
            for (i, l) in layers.enumerated() {
                let (n, m) = (widths[i + 1], widths[i])
                var y = [Float](repeating: 0, count: rows * n)
                for r in 0..<rows {
                    for o in 0..<n {
                        var s = l.bias.ptr[o]
                        for k in 0..<m { s += l.weight.ptr[o * m + k] * input[r * m + k] }
                        y[r * n + o] = i < layers.count - 1 ? max(0, s) : s
                    }
                }
                acts.append(y); input = y
            }
            return acts
        }
    }

    /// Three classes by the sign pattern of two features, plus a noise feature.
    func data(rows: Int, seed: UInt64) -> (x: [Float], y: [Int]) {
        var rng = RandomSource(seed: seed)
        var x: [Float] = [], y: [Int] = []
        for _ in 0..<rows {
            let a = Float(rng.nextDouble() * 2 - 1), b = Float(rng.nextDouble() * 2 - 1), c = Float(rng.nextDouble())
            x += [a, b, c]
            y.append(a > 0 ? (b > 0 ? 2 : 1) : 0)
        }
        return (x, y)
    }

    func testLearnsASeparableProblemAndKeepsTheBestEpoch() throws {
        let train = data(rows: 600, seed: 1), val = data(rows: 200, seed: 2)
        let head = TinyHead(widths: [3, 16, 3], seed: 3)
        var trainer = DenseHeadTrainer()
        trainer.epochs = 40; trainer.batchSize = 32; trainer.learningRate = 1e-2
        var validations: [(step: Int, loss: Double)] = []
        let result = try trainer.train(head, x: train.x, y: train.y, validation: val) { event in
            if case .validation(let step, let r, _) = event { validations.append((step, r.loss)) }
        }
        XCTAssertGreaterThan(result.validationAccuracy, 0.95)
        // One validation per epoch, at the epoch's last step (19 batches of 32 rows).
        XCTAssertEqual(validations.first?.step, 19)
        XCTAssertTrue(validations.indices.allSatisfy { validations[$0].step == 19 * ($0 + 1) })
        // The kept epoch is the one with the lowest validation loss, and its weights are the model's now.
        let best = validations.min { $0.loss < $1.loss }!
        XCTAssertEqual(result.epochs, best.step / 19)
        XCTAssertEqual(Double(result.validationLoss), best.loss)
        let logits = head.forward(val.x, rows: val.y.count).last!
        var loss = 0.0
        for (r, label) in val.y.enumerated() {
            let row = logits[(3 * r)..<(3 * r + 3)].map(Double.init), m = row.max()!
            loss += log(row.map { exp($0 - m) }.reduce(0, +)) + m - row[label]
        }
        XCTAssertEqual(loss / Double(val.y.count), best.loss, accuracy: 1e-5 * max(1, best.loss))
    }

    func testSameSeedSameWeights() throws {
        let train = data(rows: 300, seed: 4), val = data(rows: 50, seed: 5)
        func weights(seed: UInt64) throws -> [[Float]] {
            let head = TinyHead(widths: [3, 8, 3], seed: 6)
            var trainer = DenseHeadTrainer()
            trainer.epochs = 5; trainer.batchSize = 64; trainer.seed = seed
            _ = try trainer.train(head, x: train.x, y: train.y, validation: val) { _ in }
            return head.layers.map(\.weight.array)
        }
        XCTAssertEqual(try weights(seed: 7), try weights(seed: 7))
        XCTAssertNotEqual(try weights(seed: 7), try weights(seed: 8))
    }

    /// Epoch e's order is the previous epoch's shuffled again by one SplitMix64 stream (Fisher–Yates), cut into
    /// batches; it does not depend on which epochs were asked for before.
    func testReshuffledOrderContinuesOneStream() {
        let n = 10, size = 4
        var reference = Array(0..<n), rng = SplitMix64(seed: 9)
        var expected: [[[Int]]] = []
        for _ in 0..<3 {
            for i in stride(from: n - 1, to: 0, by: -1) { reference.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            expected.append([Array(reference[0..<4]), Array(reference[4..<8]), Array(reference[8..<10])])
        }
        var batches = TrainingBatches(lengths: Array(repeating: 1, count: n), batchTokens: size, seed: 9, order: .reshuffled)
        XCTAssertEqual(batches.batches(epoch: 2), expected[2])
        XCTAssertEqual(batches.batches(epoch: 0), expected[0])
        XCTAssertEqual(batches.batches(epoch: 1), expected[1])
        XCTAssertTrue(batches.position(ofStep: 7) == (2, 1))
    }
}
