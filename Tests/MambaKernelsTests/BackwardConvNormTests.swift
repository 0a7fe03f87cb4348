import Foundation
import MambaKernels
import XCTest

/// Finite-difference checks of the conv1d and normalisation backward passes (method: BackwardGradCheckTests).
final class BackwardConvNormTests: XCTestCase {
    // MARK: causal conv1d

    static func conv64(x: [Double], w: [Double], b: [Double], history: [Double]?, L: Int, C: Int, K: Int,
                       reset: [UInt8]?) -> [Double] {
        var y = [Double](repeating: 0, count: L * C)
        var start: Int? = nil
        for t in 0..<L {
            if let reset, reset[t] != 0 { start = t }
            for c in 0..<C {
                var acc = b[c]
                for j in 0..<K {
                    let s = t - (K - 1) + j
                    var v = 0.0
                    if let start, s < start { v = 0 }
                    else if s >= 0 { v = x[s * C + c] }
                    else if let history { v = history[(K - 1 + s) * C + c] }
                    acc += w[c * K + j] * v
                }
                y[t * C + c] = acc
            }
        }
        return y
    }

    func checkConv(L: Int, C: Int, K: Int, withHistory: Bool, resets: [Int], seed: UInt64) {
        var rng = TestRNG(seed)
        let x = rng.floats(L * C), w = rng.floats(C * K), b = rng.floats(C), R = rng.floats(L * C)
        let history: [Float]? = withHistory ? rng.floats((K - 1) * C) : nil
        var reset: [UInt8]? = nil
        if !resets.isEmpty { reset = [UInt8](repeating: 0, count: L); for t in resets { reset![t] = 1 } }

        var y = [Float](repeating: 0, count: L * C)
        CausalConv1d.forwardReference(x: x, length: L, channels: C, weight: w, bias: b, kernelSize: K,
                                      history: history, y: &y, resetBefore: reset)
        let y64 = Self.conv64(x: x.f64, w: w.f64, b: b.f64, history: history?.f64, L: L, C: C, K: K, reset: reset)
        GradCheck.assertClose(y, y64, "conv forward", tolerance: 1e-5)

        var dx = [Float](repeating: .nan, count: L * C), dw = [Float](repeating: 0, count: C * K)
        var db = [Float](repeating: 0, count: C), dh = [Float](repeating: .nan, count: (K - 1) * C)
        CausalConv1dBackward.backwardReference(x: x, length: L, channels: C, weight: w, kernelSize: K,
                                               history: history, dy: R, dx: &dx, dWeight: &dw, dBias: &db,
                                               dHistory: &dh, resetBefore: reset)
        let R64 = R.f64
        func loss(x: [Double], w: [Double], b: [Double], h: [Double]?) -> Double {
            GradCheck.dot(Self.conv64(x: x, w: w, b: b, history: h, L: L, C: C, K: K, reset: reset), R64)
        }
        let (x64, w64, b64, h64) = (x.f64, w.f64, b.f64, history?.f64)
        GradCheck.assertClose(dx, GradCheck.numericGradient(x64) { loss(x: $0, w: w64, b: b64, h: h64) }, "conv dx")
        GradCheck.assertClose(dw, GradCheck.numericGradient(w64) { loss(x: x64, w: $0, b: b64, h: h64) }, "conv dw")
        GradCheck.assertClose(db, GradCheck.numericGradient(b64) { loss(x: x64, w: w64, b: $0, h: h64) }, "conv db")
        if let h64 {
            GradCheck.assertClose(dh, GradCheck.numericGradient(h64) { loss(x: x64, w: w64, b: b64, h: $0) },
                                  "conv dHistory")
        } else {
            XCTAssertEqual(dh, [Float](repeating: 0, count: (K - 1) * C))
        }
    }

    func testConvPlain() { checkConv(L: 9, C: 3, K: 4, withHistory: false, resets: [], seed: 21) }
    func testConvWithHistory() { checkConv(L: 7, C: 2, K: 4, withHistory: true, resets: [], seed: 22) }
    /// After a reset the history is no longer read: its gradient must be exactly zero.
    func testConvHistoryAndResets() { checkConv(L: 11, C: 3, K: 3, withHistory: true, resets: [0, 5], seed: 23) }
    func testConvResetMidSequenceWithHistory() {
        checkConv(L: 10, C: 2, K: 4, withHistory: true, resets: [2, 6], seed: 24)
    }

    // MARK: RMSNorm / LayerNorm

    static func rms64(x: [Double], w: [Double], eps: Double, rows: Int, C: Int) -> [Double] {
        var y = x
        for r in 0..<rows {
            var ss = 0.0
            for c in 0..<C { ss += x[r * C + c] * x[r * C + c] }
            let inv = 1 / (ss / Double(C) + eps).squareRoot()
            for c in 0..<C { y[r * C + c] = x[r * C + c] * inv * w[c] }
        }
        return y
    }

    static func ln64(x: [Double], w: [Double], b: [Double], eps: Double, rows: Int, C: Int) -> [Double] {
        var y = x
        for r in 0..<rows {
            let row = Array(x[(r * C)..<((r + 1) * C)])
            let mean = row.reduce(0, +) / Double(C)
            let v = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(C)
            let inv = 1 / (v + eps).squareRoot()
            for c in 0..<C { y[r * C + c] = (row[c] - mean) * inv * w[c] + b[c] }
        }
        return y
    }

    func testRMSNorm() {
        var rng = TestRNG(31)
        let (rows, C, eps) = (4, 7, Float(1e-5))
        let x = rng.floats(rows * C), w = rng.floats(C, mean: 1, std: 0.2), R = rng.floats(rows * C)
        var y = [Float](repeating: 0, count: rows * C)
        Norm.rmsNorm(x: x, weight: w, eps: eps, y: &y, rows: rows, channels: C)
        GradCheck.assertClose(y, Self.rms64(x: x.f64, w: w.f64, eps: Double(eps), rows: rows, C: C), "rms forward",
                              tolerance: 1e-5)
        var dx = [Float](repeating: .nan, count: rows * C), dw = [Float](repeating: 0, count: C)
        NormBackward.rmsNorm(x: x, weight: w, eps: eps, dy: R, dx: &dx, dWeight: &dw, rows: rows, channels: C)
        let (x64, w64, R64) = (x.f64, w.f64, R.f64)
        let fdx = GradCheck.numericGradient(x64) { GradCheck.dot(Self.rms64(x: $0, w: w64, eps: 1e-5, rows: rows, C: C), R64) }
        let fdw = GradCheck.numericGradient(w64) { GradCheck.dot(Self.rms64(x: x64, w: $0, eps: 1e-5, rows: rows, C: C), R64) }
        GradCheck.assertClose(dx, fdx, "rms dx")
        GradCheck.assertClose(dw, fdw, "rms dWeight")

        // accumulate: dx += (same gradient); dWeight accumulates always.
        var dx2 = dx
        NormBackward.rmsNorm(x: x, weight: w, eps: eps, dy: R, dx: &dx2, dWeight: &dw, rows: rows, channels: C,
                             accumulate: true)
        for i in 0..<dx.count { XCTAssertEqual(dx2[i], 2 * dx[i], accuracy: 1e-6 * (1 + abs(dx[i]))) }
        GradCheck.assertClose(dw, fdw.map { 2 * $0 }, "rms dWeight accumulated")
    }

    func testLayerNorm() {
        var rng = TestRNG(32)
        let (rows, C, eps) = (5, 6, Float(1e-5))
        let x = rng.floats(rows * C, mean: 0.5, std: 1), w = rng.floats(C, mean: 1, std: 0.2)
        let b = rng.floats(C, std: 0.1), R = rng.floats(rows * C)
        var y = [Float](repeating: 0, count: rows * C)
        Norm.layerNorm(x: x, weight: w, bias: b, eps: eps, y: &y, rows: rows, channels: C)
        GradCheck.assertClose(y, Self.ln64(x: x.f64, w: w.f64, b: b.f64, eps: Double(eps), rows: rows, C: C),
                              "ln forward", tolerance: 1e-5)
        var dx = [Float](repeating: .nan, count: rows * C), dw = [Float](repeating: 0, count: C)
        var db = [Float](repeating: 0, count: C)
        NormBackward.layerNorm(x: x, weight: w, eps: eps, dy: R, dx: &dx, dWeight: &dw, dBias: &db, rows: rows,
                               channels: C)
        let (x64, w64, b64, R64) = (x.f64, w.f64, b.f64, R.f64)
        func loss(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            GradCheck.dot(Self.ln64(x: x, w: w, b: b, eps: 1e-5, rows: rows, C: C), R64)
        }
        GradCheck.assertClose(dx, GradCheck.numericGradient(x64) { loss($0, w64, b64) }, "ln dx")
        GradCheck.assertClose(dw, GradCheck.numericGradient(w64) { loss(x64, $0, b64) }, "ln dWeight")
        GradCheck.assertClose(db, GradCheck.numericGradient(b64) { loss(x64, w64, $0) }, "ln dBias")
    }
}
