/// Float64 helpers shared by the gradient checks of this target.

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
