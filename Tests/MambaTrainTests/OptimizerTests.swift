import Foundation
import MambaModel
import MambaTrain
import XCTest

final class OptimizerTests: XCTestCase {
    /// Two AdamW steps against values worked out by hand (Float64, PyTorch's formula):
    /// lr 0.01, weight decay 0.1, β = (0.9, 0.999), ε = 1e-8.
    func testAdamWTwoStepsMatchHandComputed() {
        let decayed = Parameter(name: "layers.0.mixer.in_proj.weight", shape: [1, 3], values: [1, -2, 0.5])
        let plain = Parameter(name: "layers.0.mixer.A_log", shape: [1, 3], values: [1, -2, 0.5])
        XCTAssertTrue(decayed.decay)
        XCTAssertFalse(plain.decay)
        let opt = AdamW(config: .init(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1))
        for p in [decayed, plain] { p.gradients = [0.1, -0.2, 0.3] }
        opt.step([decayed, plain], learningRate: 0.01)
        assertEqual(decayed.values, [0.9890000009999999, -1.9880000005, 0.4895000003333333])
        assertEqual(plain.values, [0.9900000009999999, -1.9900000005, 0.4900000003333333])
        for p in [decayed, plain] { p.gradients = [0.05, 0.4, -0.1] }
        opt.step([decayed, plain], learningRate: 0.01)
        assertEqual(decayed.values, [0.978689205790187, -1.989673035654104, 0.48500831479247475])
        assertEqual(plain.values, [0.980678205791187, -1.9936610356546038, 0.48599781479280807])
        XCTAssertEqual(opt.stepCount, 2)
        XCTAssertEqual(decayed.gradients, [0.05, 0.4, -0.1], "step leaves gradients alone")
    }

    /// A zero gradient still decays a decayed parameter, and leaves a non-decayed one unchanged.
    func testAdamWZeroGradient() {
        let w = Parameter(name: "out_proj.weight", shape: [2, 1], values: [2, -4])
        let b = Parameter(name: "dt_proj.bias", shape: [2], values: [2, -4])
        AdamW(config: .init(weightDecay: 0.5)).step([w, b], learningRate: 0.1)
        assertEqual(w.values, [2 * 0.95, -4 * 0.95])
        XCTAssertEqual(b.values, [2, -4])
    }

    func testWeightDecayRule() {
        let cases: [(String, [Int], Bool)] = [
            ("backbone.layers.0.mixer.A_log", [64, 16], false),
            ("backbone.layers.0.mixer.D", [64], false),
            ("backbone.layers.0.mixer.dt_proj.bias", [64], false),
            ("backbone.layers.0.mixer.conv1d.bias", [64], false),
            ("backbone.layers.0.norm.weight", [32], false),
            ("backbone.norm_f.weight", [32], false),
            ("score.bias", [3], false),
            ("backbone.layers.0.mixer.in_proj.weight", [128, 32], true),
            ("backbone.layers.0.mixer.conv1d.weight", [64, 1, 4], true),
            ("backbone.layers.0.mixer.dt_proj.weight", [64, 2], true),
            ("backbone.embedding.weight", [16, 32], true),
            ("score.weight", [3, 32], true),
        ]
        for (name, shape, expected) in cases {
            XCTAssertEqual(Parameter.usesWeightDecay(name: name, shape: shape), expected, name)
        }
    }

    func testWarmupCosineSchedule() {
        let s = WarmupCosineSchedule(peak: 1e-3, floor: 1e-4, warmupSteps: 4, totalSteps: 12)
        let expected: [(Int, Double)] = [
            (0, 2.5e-4), (1, 5e-4), (3, 1e-3), (4, 1e-3),
            (6, 1e-4 + 9e-4 * 0.8535533905932737),   // progress 1/4
            (8, 5.5e-4),                               // progress 1/2
            (12, 1e-4), (100, 1e-4),
        ]
        for (step, lr) in expected {
            XCTAssertEqual(Double(s.learningRate(at: step)), lr, accuracy: 1e-9, "step \(step)")
        }
        // monotone non-increasing after warm-up
        for step in 4..<20 { XCTAssertLessThanOrEqual(s.learningRate(at: step + 1), s.learningRate(at: step)) }
        // no warm-up
        XCTAssertEqual(WarmupCosineSchedule(peak: 2, warmupSteps: 0, totalSteps: 10).learningRate(at: 0), 2)
    }

    func testGlobalNormClipping() {
        let a = Parameter(name: "a.weight", shape: [2, 1], values: [0, 0])
        let b = Parameter(name: "b.bias", shape: [1], values: [0])
        a.gradients = [3, 4]; b.gradients = [12]
        XCTAssertEqual(GradientClipping.clipGlobalNorm([a, b], maxNorm: 20), 13)
        XCTAssertEqual(a.gradients, [3, 4]); XCTAssertEqual(b.gradients, [12])
        XCTAssertEqual(GradientClipping.clipGlobalNorm([a, b], maxNorm: 6.5), 13)
        assertEqual(a.gradients + b.gradients, [1.5, 2, 6])
        XCTAssertEqual(Double(GradientClipping.globalNorm([a, b])), 6.5, accuracy: 1e-5)
        b.gradients = [.infinity]
        XCTAssertFalse(GradientClipping.clipGlobalNorm([a, b], maxNorm: 1).isFinite)
        assertEqual(a.gradients, [1.5, 2], "non-finite norm leaves gradients alone")
    }

    /// xoshiro256** seeded through SplitMix64: first outputs for seed 42 (computed independently), and
    /// SplitMix64's published first output for seed 0.
    func testRandomSourceKnownValues() {
        var r = RandomSource(seed: 42)
        XCTAssertEqual(r.next(), 0x1578_0b2e_0c2e_c716)
        XCTAssertEqual(r.next(), 0x6104_d986_6d11_3a7e)
        XCTAssertEqual(r.next(), 0xae17_5332_39e4_99a1)
        var sm = SplitMix64(seed: 0)
        XCTAssertEqual(sm.next(), 0xe220_a839_7b1d_cdaf)
    }

    func testRandomSourceDistributions() {
        var r = RandomSource(seed: 7)
        var a = RandomSource(seed: 7)
        XCTAssertEqual((0..<5).map { _ in r.next() }, (0..<5).map { _ in a.next() })
        let n = 200_000
        var sum = 0.0, sq = 0.0
        for _ in 0..<n { let x = Double(r.nextNormal()); sum += x; sq += x * x }
        XCTAssertEqual(sum / Double(n), 0, accuracy: 0.01)
        XCTAssertEqual(sq / Double(n), 1, accuracy: 0.02)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<50_000 { counts[r.nextInt(below: 5)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }
        for _ in 0..<1000 { let f = r.nextFloat(); XCTAssertTrue(f >= 0 && f < 1) }
        var perm = Array(0..<50)
        var r2 = RandomSource(seed: 9), r3 = RandomSource(seed: 9)
        r2.shuffle(&perm)
        var perm2 = Array(0..<50)
        r3.shuffle(&perm2)
        XCTAssertEqual(perm, perm2)
        XCTAssertNotEqual(perm, Array(0..<50))
        XCTAssertEqual(perm.sorted(), Array(0..<50))
    }

    private func assertEqual(_ a: [Float], _ b: [Double], _ message: String = "",
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for i in 0..<min(a.count, b.count) {
            XCTAssertEqual(Double(a[i]), b[i], accuracy: 1e-6 * max(1, abs(b[i])), "\(message) [\(i)]", file: file, line: line)
        }
    }
}
