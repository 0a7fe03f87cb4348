import Foundation
import XCTest

/// Finite-difference gradient checking used by the Backward* tests.
///
/// Method: each op's forward is written again in the tests as a plain Float64 loop, and the scalar loss
/// Σ out·R (R fixed random weights) is differentiated by central differences in Float64 with step 1e-5
/// (truncation error O(h²) ≈ 1e-10 relative, rounding ≈ 1e-16/h ≈ 1e-11), so the numerical gradient is
/// exact to far below fp32 precision and the comparison measures only the fp32 backward pass. Each test also
/// checks that the Float64 forward reproduces the library's fp32 forward, so the differentiated function is
/// the library's. Tolerance per gradient tensor: ‖g − fd‖/‖fd‖ ≤ 1e-4 and max|g − fd| ≤ 1e-4·max|fd|
/// (fp32 round-off on these sizes is ~1e-6; a wrong or missing term is O(1)).
enum GradCheck {
    static let tolerance = 1e-4

    /// ∂f/∂x[i] for every i by central differences.
    static func numericGradient(_ x: [Double], step: Double = 1e-5, _ f: ([Double]) -> Double) -> [Double] {
        var x = x
        var g = [Double](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let x0 = x[i]
            let h = step * max(1, abs(x0))
            x[i] = x0 + h; let fp = f(x)
            x[i] = x0 - h; let fm = f(x)
            x[i] = x0
            g[i] = (fp - fm) / (2 * h)
        }
        return g
    }

    /// ‖g − ref‖ / ‖ref‖ (absolute norm when ref is 0).
    static func relativeError(_ g: [Float], _ ref: [Double]) -> Double {
        precondition(g.count == ref.count)
        var num = 0.0, den = 0.0
        for i in 0..<g.count { num += (Double(g[i]) - ref[i]) * (Double(g[i]) - ref[i]); den += ref[i] * ref[i] }
        return den > 0 ? (num / den).squareRoot() : num.squareRoot()
    }

    static func assertClose(_ g: [Float], _ ref: [Double], _ name: String, tolerance: Double = tolerance,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(g.count, ref.count, name, file: file, line: line)
        guard g.count == ref.count else { return }
        let rel = relativeError(g, ref)
        let scale = ref.map(abs).max() ?? 0
        var maxAbs = 0.0
        for i in 0..<g.count { maxAbs = max(maxAbs, abs(Double(g[i]) - ref[i])) }
        print("gradcheck \(name): ‖g − fd‖/‖fd‖ = \(String(format: "%.2e", rel)), max|g − fd|/max|fd| = \(String(format: "%.2e", scale > 0 ? maxAbs / scale : maxAbs))")
        XCTAssertLessThanOrEqual(rel, tolerance, "\(name): relative error by norm", file: file, line: line)
        XCTAssertLessThanOrEqual(maxAbs, tolerance * max(scale, 1e-12), "\(name): max abs error", file: file, line: line)
        // A gradient that is all zeros would pass trivially against an all-zero reference: say so in the log.
        if scale == 0 { print("note: \(name) reference gradient is exactly zero") }
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in 0..<a.count { s += a[i] * b[i] }
        return s
    }
}

/// Deterministic test data (SplitMix64), independent of the library's RNG.
struct TestRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
    mutating func normal(_ mean: Double = 0, _ std: Double = 1) -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return mean + std * (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
    /// Values rounded to Float, returned both ways so the Float64 reference sees exactly the fp32 inputs.
    mutating func floats(_ count: Int, mean: Double = 0, std: Double = 1) -> [Float] {
        (0..<count).map { _ in Float(normal(mean, std)) }
    }
}

extension Array where Element == Float {
    var f64: [Double] { map(Double.init) }
}

final class BackwardGradCheckTests: XCTestCase {
    /// The checker itself: f = Σ sin(x)·x² has gradient cos(x)·x² + 2x·sin(x).
    func testNumericGradientOfKnownFunction() {
        var rng = TestRNG(1)
        let x = (0..<6).map { _ in rng.normal() }
        let fd = GradCheck.numericGradient(x) { v in v.reduce(0) { $0 + Foundation.sin($1) * $1 * $1 } }
        for i in 0..<x.count {
            let exact = Foundation.cos(x[i]) * x[i] * x[i] + 2 * x[i] * Foundation.sin(x[i])
            XCTAssertEqual(fd[i], exact, accuracy: 1e-8)
        }
    }

    /// The checker rejects a gradient with one wrong coordinate.
    func testRelativeErrorDetectsWrongTerm() {
        let ref: [Double] = [1, -2, 3, 0.5]
        var g = ref.map(Float.init)
        XCTAssertLessThan(GradCheck.relativeError(g, ref), 1e-7)
        g[3] = 0
        XCTAssertGreaterThan(GradCheck.relativeError(g, ref), 1e-2)
    }
}
