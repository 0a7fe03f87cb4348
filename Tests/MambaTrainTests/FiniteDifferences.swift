import MambaModel
import MambaTrain
import XCTest

/// Helpers shared by the gradient checks of this target.

/// Central differences of `f` at `x`, step 1e-5 · max(1, |xᵢ|) per coordinate.
func centralDifferences(_ x: [Double], _ f: ([Double]) -> Double) -> [Double] {
    var x = x, g = [Double](repeating: 0, count: x.count)
    for i in x.indices {
        let x0 = x[i], h = 1e-5 * max(1, abs(x0))
        x[i] = x0 + h; let fp = f(x)
        x[i] = x0 - h; let fm = f(x)
        x[i] = x0
        g[i] = (fp - fm) / (2 * h)
    }
    return g
}

/// ‖g − fd‖ / ‖fd‖, and ‖fd‖² (a zero reference would make the ratio meaningless).
func relativeErrorByNorm(_ g: [Float], _ fd: [Double]) -> (rel: Double, referenceSquared: Double) {
    var num = 0.0, den = 0.0
    for (a, b) in zip(g, fd) { num += (Double(a) - b) * (Double(a) - b); den += b * b }
    return ((num / max(den, 1e-300)).squareRoot(), den)
}

/// A check of one parameter tensor's gradient `g` against derivatives of an fp32 loss along directions.
///
/// Resolution. The loss is an fp32 number: evaluated at nearby points it carries rounding noise of about one
/// unit in its last place, u = ulp(|L|) (third differences along the directions of these tests measure a
/// standard deviation of 0.3–1.3 u; `noiseUlps` = 4 covers three of them). A central difference of step h
/// resolves a derivative only to about u / h, more than many single coordinates' derivatives (1e-6 against
/// 1.2e-5 for h = 1e-2 here), and whether such an entry passes depends on the CPU's rounding. So the
/// checks are directional, each derivative summing the whole tensor's gradient:
/// - along ĝ = g / ‖g‖ the derivative is ‖g‖, the most any unit direction has: error |R − ‖g‖| / ‖g‖ (sees a
///   gradient too large or too small, or off in its own direction);
/// - along `randomDirections` random unit directions rⱼ, drawn independently of g (a direction taken from g
///   is blind to an error orthogonal to g, such as an entry left out), g·rⱼ: error
///   ‖(Rⱼ − g·rⱼ)ⱼ‖ / ‖(g·rⱼ)ⱼ‖, a random projection of ‖g_numeric − g‖ / ‖g‖.
///
/// Numeric derivative: Richardson's extrapolation R(h) = (4·D(h) − D(2h)) / 3 of the central differences
/// D(s) = (L(θ + s·v) − L(θ − s·v)) / 2s, whose truncation error is O(h⁴) rather than O(h²), so the step can
/// be large enough to lift the derivative far above the noise. With each loss off by at most n·u
/// (n = `noiseUlps`), |R − R_exact| ≤ (4·n·u/h + n·u/(2h)) / 3 = 1.5·n·u/h: divided by the signal it is the
/// check's `resolution`. The step is the one that makes this tol/100, at most `maxStep` (0.5 along a unit
/// direction moves each of n entries by about 0.5/√n). Truncation is estimated from R(2h) (error 16× R(h)'s):
/// |R(2h) − R(h)| / 15, over the signal. Callers assert `resolution` ≤ tol/4 and `truncation` ≤ tol/10 beside
/// `error` ≤ tol: then rounding and truncation together move the error by less than tol/2, so a right gradient
/// passes on any CPU and one wrong by 2·tol fails on any CPU.
struct DirectionalCheck {
    var error = 0.0, resolution = 0.0, truncation = 0.0
    var details: [String] = []
}

func directionalGradientCheck(_ p: Parameter, tolerance tol: Double, loss: () -> Double, seed: UInt64 = 1,
                              randomDirections: Int = 3, noiseUlps: Double = 4,
                              maxStep: Double = 0.5) -> DirectionalCheck {
    let g = p.gradients.map(Double.init), base = p.values
    func norm(_ x: [Double]) -> Double { x.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    let gNorm = norm(g)
    guard gNorm > 0 else { return DirectionalCheck(error: .infinity, details: ["gradient is zero"]) }
    let noise = 1.5 * noiseUlps * Double(Float(abs(loss())).ulp)  // × 1/h: the bound on R's rounding error
    func along(_ v: [Double], _ t: Double) -> Double {
        for i in v.indices { p.value.data[i] = Float(Double(base[i]) + t * v[i]) }
        defer { for i in v.indices { p.value.data[i] = base[i] } }
        return loss()
    }
    /// R(h) along v, its rounding bound and its truncation estimate, for a derivative of about `signal`.
    func derivative(_ v: [Double], signal: Double) -> (value: Double, rounding: Double, truncation: Double, h: Double) {
        let h = min(maxStep, noise / (signal * tol / 100))
        func central(_ s: Double) -> Double { (along(v, s) - along(v, -s)) / (2 * s) }
        let d1 = central(h), d2 = central(2 * h), d4 = central(4 * h)
        let r1 = (4 * d1 - d2) / 3, r2 = (4 * d2 - d4) / 3
        return (r1, noise / h, abs(r2 - r1) / 15, h)
    }
    var check = DirectionalCheck()
    let unit = derivative(g.map { $0 / gNorm }, signal: gNorm)
    check.error = abs(unit.value - gNorm) / gNorm
    check.resolution = unit.rounding / gNorm
    check.truncation = unit.truncation / gNorm
    check.details.append(String(format: "along g/|g|, h %.1e: analytic %.6e numeric %.6e", unit.h, gNorm, unit.value))

    var rng = RandomSource(seed: seed)
    let directions: [[Double]] = (0..<randomDirections).map { _ in
        let r = g.map { _ in Double(rng.nextNormal()) }
        let n = norm(r)
        return r.map { $0 / n }
    }
    let exact = directions.map { dot($0, g) }, signal = norm(exact)
    let numeric = directions.map { derivative($0, signal: signal / Double(randomDirections).squareRoot()) }
    let m = Double(randomDirections).squareRoot()
    check.error = max(check.error, norm(zip(numeric, exact).map { $0.0.value - $0.1 }) / signal)
    check.resolution = max(check.resolution, m * numeric.map(\.rounding).max()! / signal)
    check.truncation = max(check.truncation, m * numeric.map(\.truncation).max()! / signal)
    for (r, e) in zip(numeric, exact) {
        check.details.append(String(format: "random, h %.1e: analytic %.6e numeric %.6e", r.h, e, r.value))
    }
    return check
}

/// Asserts a `directionalGradientCheck`: the error within `tolerance`, and the check able to see that tolerance
/// (rounding at most a quarter of it, truncation a tenth).
func assertDirectionalGradient(_ p: Parameter, tolerance: Double, _ label: String, seed: UInt64 = 1,
                               maxStep: Double = 0.5, loss: () -> Double,
                               file: StaticString = #filePath, line: UInt = #line) {
    let c = directionalGradientCheck(p, tolerance: tolerance, loss: loss, seed: seed, maxStep: maxStep)
    print(String(format: "directional grad check %@: error %.1e, resolution %.1e, truncation %.1e", label, c.error,
                 c.resolution, c.truncation))
    let details = c.details.joined(separator: "; ")
    XCTAssertLessThanOrEqual(c.resolution, tolerance / 4, "\(label): fp32 loss too coarse: \(details)", file: file, line: line)
    XCTAssertLessThanOrEqual(c.truncation, tolerance / 10, "\(label): step too large: \(details)", file: file, line: line)
    XCTAssertLessThanOrEqual(c.error, tolerance, "\(label): \(details)", file: file, line: line)
}
