import Foundation
import XCTest
import MambaKernels

/// `FastMath` against Float64 math on dense grids. Bounds are relative errors (absolute near 0 where
/// the function crosses 0), a few float32 ulps (ulp/2 = 6e-8).
final class FastMathTests: XCTestCase {
    typealias V = SIMD16<Float>

    /// Max error of `f` (16 lanes at a time) against `ref` over `xs`: |f − ref| / max(|ref|, floor).
    func maxError(_ xs: [Float], floor: Double = 0, _ f: (V) -> V, _ ref: (Double) -> Double) -> (Double, Float) {
        var worst = 0.0, at: Float = 0
        var i = 0
        while i < xs.count {
            var v = V()
            let lanes = min(16, xs.count - i)
            for l in 0..<lanes { v[l] = xs[i + l] }
            let y = f(v)
            for l in 0..<lanes {
                let r = ref(Double(xs[i + l]))
                let e = abs(Double(y[l]) - r) / max(abs(r), floor)
                if !(e <= worst) { worst = e; at = xs[i + l] }
            }
            i += 16
        }
        return (worst, at)
    }

    func grid(_ a: Float, _ b: Float, _ count: Int) -> [Float] {
        (0...count).map { a + (b - a) * Float($0) / Float(count) }
    }

    func testExp() {
        let (e, at) = maxError(grid(-87.33, 88.72, 400_000), FastMath.exp, Foundation.exp)
        print("exp max rel error on [-87.33, 88.72]: \(e) at \(at)")
        XCTAssertLessThanOrEqual(e, 2.5e-7)
        let (e2, at2) = maxError(grid(-10, 10, 200_000), FastMath.exp, Foundation.exp)
        print("exp max rel error on [-10, 10]: \(e2) at \(at2)")
        XCTAssertLessThanOrEqual(e2, 2e-7)
        let edge = FastMath.exp(V(0, -87.4, -100, -1e30, 88.8, 100, 1e30, 1, -1, 0.5, 88.72, -87.3, 2, 3, 4, 5))
        XCTAssertEqual(edge[0], 1)
        XCTAssertEqual(edge[1], 0); XCTAssertEqual(edge[2], 0); XCTAssertEqual(edge[3], 0)
        XCTAssertEqual(edge[4], .infinity); XCTAssertEqual(edge[5], .infinity); XCTAssertEqual(edge[6], .infinity)
        XCTAssertTrue(edge[10].isFinite && edge[10] > 3.3e38)
        XCTAssertTrue(edge[11].isNormal)
    }

    func testExp2() {
        let (e, at) = maxError(grid(-126, 127.999, 400_000), FastMath.exp2, Foundation.exp2)
        print("exp2 max rel error on [-126, 128): \(e) at \(at)")
        XCTAssertLessThanOrEqual(e, 2.5e-7)
        // Exact at integers (2⁰ = 1 matters for the scan's decay with Δ·A = 0).
        for k in -126...127 { XCTAssertEqual(FastMath.exp2(V(repeating: Float(k)))[0], Float(Foundation.exp2(Double(k)))) }
        let c = FastMath.exp2(V(-126.5, -1000, 128, 1000, -125.9, 127.9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        XCTAssertEqual(c[0], 0); XCTAssertEqual(c[1], 0)
        XCTAssertEqual(c[2], .infinity); XCTAssertEqual(c[3], .infinity)
        XCTAssertTrue(c[4].isNormal && c[5].isFinite)
    }

    /// The scan's floored decay: the same bits as the plain fused exp wherever round(a·b) ≥ −125 (so a tile's
    /// choice of path cannot change a row's result), 2^−125.5 below, always a normal float.
    func testExp2ProductFloored() {
        var rng = KernelRNG(seed: 77)
        for _ in 0..<20_000 {
            var a = V(), b = V()
            for l in 0..<16 { a[l] = rng.uniform(0, 2); b[l] = -rng.uniform(0, 62) }  // a·b ∈ (−124, 0]
            let plain = FastMath.exp2Product(a, b), floored = FastMath.exp2ProductFloored(a, b)
            XCTAssertEqual(unsafeBitCast(plain, to: SIMD16<UInt32>.self), unsafeBitCast(floored, to: SIMD16<UInt32>.self))
        }
        let a = V(repeating: 1)
        let b = V(-125, -125.4, -125.6, -126, -127, -200, -3000, -1e9, -1e30, 0, 1, 100, 127.4, -0.5, -62.25, -124.9)
        let f = FastMath.exp2ProductFloored(a, b)
        let floor = Float(Foundation.exp2(-125.5))
        for l in 0..<16 {
            XCTAssertTrue(f[l].isNormal, "lane \(l)")
            let want = b[l] >= -125.5 ? Float(Foundation.exp2(Double(b[l]))) : floor
            XCTAssertEqual(f[l], want, accuracy: want * 2.5e-7, "lane \(l)")
        }
    }

    /// PyTorch softplus (beta 1, threshold 20) in Float64.
    static func softplus(_ x: Double) -> Double { x > 20 ? x : Foundation.log1p(Foundation.exp(x)) }

    func testSoftplus() {
        let (e, at) = maxError(grid(-80, 80, 400_000), FastMath.softplus, Self.softplus)
        print("softplus max rel error on [-80, 80]: \(e) at \(at)")
        XCTAssertLessThanOrEqual(e, 4e-7)
        // Around the threshold: x itself above 20 (bit-exact), log1p(eˣ) just below.
        let xs: [Float] = [19.9, 19.999998, 20, 20.000002, 20.5, 25, 100, 1e6]
        var v = V()
        for (i, x) in xs.enumerated() { v[i] = x }
        let y = FastMath.softplus(v)
        for (i, x) in xs.enumerated() {
            if x > 20 { XCTAssertEqual(y[i], x) }
            else { XCTAssertEqual(Double(y[i]), Self.softplus(Double(x)), accuracy: Double(x) * 1.2e-7) }
            XCTAssertEqual(y[i], Activation.softplus(x), accuracy: x * 1.2e-7)
        }
        // Tiny outputs keep their relative accuracy (log1p of a tiny eˣ).
        let (et, att) = maxError(grid(-87, -15, 50_000), FastMath.softplus, Self.softplus)
        print("softplus max rel error on [-87, -15]: \(et) at \(att)")
        XCTAssertLessThanOrEqual(et, 4e-7)
    }

    func testSigmoidAndSiLU() {
        let (es, ats) = maxError(grid(-80, 80, 400_000), FastMath.sigmoid) { 1 / (1 + Foundation.exp(-$0)) }
        print("sigmoid max rel error on [-80, 80]: \(es) at \(ats)")
        XCTAssertLessThanOrEqual(es, 4e-7)
        let (e, at) = maxError(grid(-80, 80, 400_000), floor: 1e-30, FastMath.silu) { $0 / (1 + Foundation.exp(-$0)) }
        print("silu max rel error on [-80, 80]: \(e) at \(at)")
        XCTAssertLessThanOrEqual(e, 4e-7)
        XCTAssertEqual(FastMath.silu(V(repeating: 0))[0], 0)
        XCTAssertEqual(FastMath.silu(V(repeating: -200))[0], 0, accuracy: 1e-30)
        XCTAssertEqual(FastMath.silu(V(repeating: 200))[0], 200)
    }

    /// Array versions, odd counts: every element equals the SIMD function of it, and y may alias x.
    func testArrayVersions() {
        var rng = KernelRNG(seed: 7)
        for count in [0, 1, 15, 16, 17, 33, 100] {
            let x = (0..<count).map { _ in rng.uniform(-30, 30) }
            let z = (0..<count).map { _ in rng.uniform(-10, 10) }
            func one(_ f: (V) -> V, _ x: Float) -> Float { f(V(repeating: x))[0] }
            var y = [Float](repeating: .nan, count: count)
            FastMath.exp(x, &y, count: count)
            for i in 0..<count { XCTAssertEqual(y[i], one(FastMath.exp, x[i])) }
            FastMath.softplus(x, &y, count: count)
            for i in 0..<count { XCTAssertEqual(y[i], one(FastMath.softplus, x[i])) }
            FastMath.sigmoid(x, &y, count: count)
            for i in 0..<count { XCTAssertEqual(y[i], one(FastMath.sigmoid, x[i])) }
            FastMath.silu(x, &y, count: count)
            for i in 0..<count { XCTAssertEqual(y[i], one(FastMath.silu, x[i])) }
            y = x
            FastMath.siluInPlace(&y, count: count)
            for i in 0..<count { XCTAssertEqual(y[i], one(FastMath.silu, x[i])) }
            y = x
            FastMath.softplusInPlace(&y, count: count)
            for i in 0..<count { XCTAssertEqual(y[i], one(FastMath.softplus, x[i])) }
            y = x
            FastMath.sigmoidInPlace(&y, count: count)
            for i in 0..<count { XCTAssertEqual(y[i], one(FastMath.sigmoid, x[i])) }
            y = x
            FastMath.expInPlace(&y, count: count)
            for i in 0..<count { XCTAssertEqual(y[i], one(FastMath.exp, x[i])) }
            y = x
            FastMath.mulSiluInPlace(&y, gate: z, count: count)
            for i in 0..<count { XCTAssertEqual(y[i], x[i] * one(FastMath.silu, z[i])) }
            // Against the plain definitions.
            for i in 0..<count {
                let s = one(FastMath.silu, x[i])
                XCTAssertEqual(s, Activation.silu(x[i]), accuracy: max(abs(s), 1e-30) * 4e-7)
            }
        }
    }
}

/// Deterministic generator for the tests (xorshift64*).
struct KernelRNG {
    var s: UInt64
    init(seed: UInt64) { s = seed &* 0x9E3779B97F4A7C15 | 1 }
    mutating func next() -> UInt64 {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27
        return s &* 2685821657736338717
    }
    /// Uniform in [a, b).
    mutating func uniform(_ a: Float, _ b: Float) -> Float { a + (b - a) * Float(next() >> 40) / Float(1 << 24) }
    /// Approximately standard normal (sum of 4 uniforms, scaled).
    mutating func normal() -> Float {
        var s: Float = 0
        for _ in 0..<4 { s += uniform(-1, 1) }
        return s * 0.8660254
    }
    mutating func array(_ count: Int, scale: Float = 1, offset: Float = 0) -> [Float] {
        (0..<count).map { _ in offset + scale * normal() }
    }
}
