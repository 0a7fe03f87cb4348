import XCTest
import MambaKernels

/// Vectorised `Norm.rmsNorm` / `Norm.layerNorm` against the plain reference versions, odd channel
/// counts, including y aliasing x. Bound: max abs error ≤ 1e-5 on O(1) outputs (summation order
/// differs: SIMD partial sums instead of one running sum).
final class NormTests: XCTestCase {
    func testRMSNorm() {
        var rng = KernelRNG(seed: 11)
        for ch in [1, 15, 16, 17, 33, 100, 768] {
            let rows = 5
            let x = rng.array(rows * ch, scale: 2, offset: 0.3), w = rng.array(ch)
            var yRef = [Float](repeating: 0, count: rows * ch), yFast = [Float](repeating: .nan, count: rows * ch)
            Norm.rmsNormReference(x: x, weight: w, eps: 1e-5, y: &yRef, rows: rows, channels: ch)
            Norm.rmsNorm(x: x, weight: w, eps: 1e-5, y: &yFast, rows: rows, channels: ch)
            var err: Float = 0
            for i in 0..<(rows * ch) { err = max(err, abs(yFast[i] - yRef[i])) }
            XCTAssertLessThanOrEqual(err, 1e-5, "channels \(ch)")
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { p in
                Norm.rmsNorm(x: p.baseAddress!, weight: w, eps: 1e-5, y: p.baseAddress!, rows: rows, channels: ch)
            }
            XCTAssertEqual(inPlace, yFast)
        }
    }

    func testLayerNorm() {
        var rng = KernelRNG(seed: 12)
        for ch in [1, 15, 16, 17, 33, 100, 768] {
            for useBias in [false, true] {
                let rows = 5
                let x = rng.array(rows * ch, scale: 2, offset: 5), w = rng.array(ch), b = rng.array(ch)
                var yRef = [Float](repeating: 0, count: rows * ch), yFast = [Float](repeating: .nan, count: rows * ch)
                b.withUnsafeBufferPointer { bp in
                    let bq = useBias ? bp.baseAddress : nil
                    Norm.layerNormReference(x: x, weight: w, bias: bq, eps: 1e-5, y: &yRef, rows: rows, channels: ch)
                    Norm.layerNorm(x: x, weight: w, bias: bq, eps: 1e-5, y: &yFast, rows: rows, channels: ch)
                }
                var err: Float = 0
                for i in 0..<(rows * ch) { err = max(err, abs(yFast[i] - yRef[i])) }
                XCTAssertLessThanOrEqual(err, 1e-5, "channels \(ch) bias \(useBias)")
            }
        }
    }
}
