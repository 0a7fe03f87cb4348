import MambaTrain

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

/// An fp32 check of one parameter's gradient at `indices`: central differences of `loss` with step `h` (each entry
/// restored afterwards) against `p.grad`, by norm: ‖analytic − numeric‖ / max(‖numeric‖, floor).
func parameterGradientCheck(_ p: Parameter, at indices: [Int], step h: Float, floor: Double,
                            loss: () -> Double) -> (error: Double, analytic: [Double], numeric: [Double]) {
    var analytic: [Double] = [], numeric: [Double] = []
    for i in indices {
        let old = p.value.data[i]
        p.value.data[i] = old + h; let up = loss()
        p.value.data[i] = old - h; let down = loss()
        p.value.data[i] = old
        analytic.append(Double(p.grad.data[i])); numeric.append((up - down) / Double(2 * h))
    }
    let diff = zip(analytic, numeric).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
    let scale = max(numeric.map { $0 * $0 }.reduce(0, +).squareRoot(), floor)
    return (diff / scale, analytic, numeric)
}
