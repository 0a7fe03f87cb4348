import MambaKernels
import XCTest
@testable import MambaModel

/// The bf16 projections against the fp32 model they stand for, on the reference fixtures.
///
/// Expected error: bf16 keeps 8 significant bits, so rounding a weight or an activation moves it by at most 2⁻⁹
/// relative (≈ 2⁻¹⁰ on average); a product of two rounded factors summed over K terms with random signs keeps a
/// relative error of the same order, ≈ 2⁻⁹·√2 ≈ 3e-3 per projection, and three projections per layer add up
/// in quadrature through the residual stream. The bound, 1e-2 relative by norm over all hidden states,
/// is what a correct bf16 path meets; a wrong one (a transposed or mis-strided weight, a missing bias) is off by
/// order 1.
final class PrecisionTests: XCTestCase {
    static let fixtures: [(name: String, hidden: String)] = [
        ("mamba_lm", "hidden_states"), ("mamba_hf", "last_hidden_state"),
        ("caduceus/caduceus_ph", "last_hidden_state"), ("caduceus/caduceus_ps", "last_hidden_state"),
        ("caduceus/caduceus_ps_unfused", "last_hidden_state"),
    ]

    func relativeErrorByNorm(_ a: [Float], _ reference: [Float]) -> Double {
        precondition(a.count == reference.count)
        var num = 0.0, den = 0.0
        for i in a.indices {
            let d = Double(a[i]) - Double(reference[i])
            num += d * d; den += Double(reference[i]) * Double(reference[i])
        }
        return (num / den).squareRoot()
    }

    func testBF16HiddenStatesStayWithinOnePercentOfFP32() throws {
        try XCTSkipIf(CPUFeatures.current.bf16Path == .none, "this CPU has no bf16 instructions: \(CPUFeatures.current)")
        for (name, _) in Self.fixtures {
            let io = try Fixtures.io(name)
            let tokens = try batchTokens(io)
            var model = try MambaCheckpoint.load(Fixtures.dir(name))
            let packed = tokens.flatMap { $0 }, segments = Segments(lengths: tokens.map(\.count))
            let fp32 = model.hiddenStates(packed: packed, segments: segments)
            let choice = model.usePrecision(.bf16)
            XCTAssertEqual(choice.used, .bf16, "\(name): \(choice)")
            XCTAssertEqual(choice.path, CPUFeatures.current.bf16Path)
            let bf16 = model.hiddenStates(packed: packed, segments: segments)
            let err = relativeErrorByNorm(bf16, fp32)
            print("\(name): bf16 vs fp32 hidden states, relative error by norm \(err) (\(choice))")
            XCTAssertLessThanOrEqual(err, 1e-2, name)
            // Not the fp32 result: the products did run in bf16.
            XCTAssertGreaterThan(err, 1e-6, name)
            // And back: fp32 again gives the fp32 states bit for bit.
            XCTAssertEqual(model.usePrecision(.fp32).used, .fp32)
            XCTAssertEqual(model.hiddenStates(packed: packed, segments: segments), fp32, name)
        }
    }

    /// A long sequence runs in chunks through the same bf16 weights: chunked and whole agree to fp32 rounding of
    /// the carried state (the products are the same bf16 products, only split at other rows).
    func testBF16ChunkedEqualsWhole() throws {
        try XCTSkipIf(CPUFeatures.current.bf16Path == .none, "this CPU has no bf16 instructions")
        var model = try MambaCheckpoint.load(Fixtures.dir("mamba_lm"))
        model.usePrecision(.bf16)
        let tokens = randomDNA(3000, seed: 7)
        let whole = model.hiddenStates(tokens)
        model.chunkRows = 700
        let chunked = model.hiddenStates(tokens)
        XCTAssertLessThanOrEqual(relativeErrorByNorm(chunked, whole), 1e-5)
    }

    /// Without bf16 instructions `.bf16` falls back to fp32, says why, and computes exactly the fp32 result.
    func testFallbackWithoutBF16IsFP32() throws {
        var model = try MambaCheckpoint.load(Fixtures.dir("caduceus/caduceus_ps"))
        let tokens = randomDNA(200, seed: 3)
        let fp32 = model.hiddenStates(tokens)
        let choice = model.usePrecision(.bf16, features: .none)
        XCTAssertEqual(choice.requested, .bf16)
        XCTAssertEqual(choice.used, .fp32)
        XCTAssertNotNil(choice.fallbackReason)
        XCTAssertEqual(model.hiddenStates(tokens), fp32)
    }

    /// A classifier set to bf16 keeps its predictions (the fixtures' heads are random, so compare probabilities).
    func testClassifierBF16ProbabilitiesCloseToFP32() throws {
        try XCTSkipIf(CPUFeatures.current.bf16Path == .none, "this CPU has no bf16 instructions")
        let backbone = try MambaCheckpoint.load(Fixtures.dir("mamba_lm"))
        let encoder = try XCTUnwrap(ClassifierEncoder(backbone))
        let C = 3, d = encoder.dModel
        var g = SplitMix(11)
        let head = Tensor(shape: [C, d], values: (0..<(C * d)).map { _ in Float(Int(g.next() % 2001) - 1000) / 1000 })
        let classifier = SequenceClassifier(encoder: encoder, head: head, headBias: Tensor(shape: [C]),
                                            labels: ["a", "b", "c"])
        let reads = (0..<16).map { randomDNA(150, seed: UInt64(100 + $0)) }
        let lengths = reads.map(\.count), packed = reads.flatMap { $0 }
        let fp32 = classifier.logits(packed: packed, lengths: lengths)
        XCTAssertEqual(classifier.usePrecision(.bf16).used, .bf16)
        let bf16 = classifier.logits(packed: packed, lengths: lengths)
        XCTAssertLessThanOrEqual(relativeErrorByNorm(bf16, fp32), 1e-2)
    }

}

/// A long read through a causal classifier streams (memory of one chunk) and gets the logits of the whole-sequence
/// path: the same products, pooled in another order (fp32 sums of up to L terms: relative error ≲ L·2⁻²⁴ ≈ 5e-5
/// at L = 800 in the worst case; the mean is summed in Double on the streamed side).
final class StreamedClassifierTests: XCTestCase {
    func testStreamedLogitsEqualWholeSequenceLogits() throws {
        var backbone = try XCTUnwrap(try MambaCheckpoint.load(Fixtures.dir("mamba_lm")) as? MambaLMModel)
        backbone.chunkRows = 300
        let C = 4, d = backbone.config.dModel
        var g = SplitMix(21)
        let head = Tensor(shape: [C, d], values: (0..<(C * d)).map { _ in Float(Int(g.next() % 2001) - 1000) / 1000 })
        let bias = Tensor(shape: [C], values: [0.1, -0.2, 0.3, 0])
        let read = randomDNA(800, seed: 99)
        for pooling in ClassifierPooling.allCases {
            let classifier = SequenceClassifier(encoder: .mamba(backbone), head: head, headBias: bias,
                                                labels: ["a", "b", "c", "d"], rcAverage: true, pooling: pooling)
            let whole = classifier.logits(packed: read, lengths: [read.count])
            classifier.streamingThreshold = 400
            let streamed = classifier.logits(packed: read, lengths: [read.count])
            for c in 0..<C {
                XCTAssertEqual(streamed[c], whole[c], accuracy: 2e-4 * max(1, abs(whole[c])), "\(pooling) class \(c)")
            }
            XCTAssertNotEqual(whole, [Float](repeating: whole[0], count: C))
        }
    }
}
