import Foundation
import XCTest
import MambaKernels

/// `Gemm.linear` with few input features (dt_proj, rank 4–16) runs `NarrowLinear`: checked against a plain sum in
/// double precision, with and without bias, accumulating, on strided rows and an output count that is no multiple
/// of 16.
final class GemmNarrowTests: XCTestCase {
    func testNarrowProductsMatchThePlainSum() {
        for (k, n) in [(1, 5), (4, 128), (4, 37), (8, 64), (8, 150), (16, 512), (16, 17)] {
            var rng = KernelRNG(seed: UInt64(k * 100 + n))
            let rows = 23, ldx = k + 3, ldy = n + 5
            let x = rng.array(rows * ldx), w = rng.array(n * k, scale: 0.5), b = rng.array(n)
            let start = rng.array(rows * ldy)
            for mode in 0..<3 {  // 0: bias, 1: no bias, 2: accumulate into start
                var y = mode == 2 ? start : [Float](repeating: .nan, count: rows * ldy)
                if mode != 2 { for r in 0..<rows { for o in n..<ldy { y[r * ldy + o] = start[r * ldy + o] } } }
                Gemm.linear(x: x, rows: rows, inFeatures: k, ldx: ldx, weight: w, bias: mode == 0 ? b : nil,
                            outFeatures: n, y: &y, ldy: ldy, accumulate: mode == 2)
                var worst = 0.0
                for r in 0..<rows {
                    for o in 0..<n {
                        var sum = mode == 0 ? Double(b[o]) : mode == 2 ? Double(start[r * ldy + o]) : 0
                        var magnitude = abs(sum)
                        for j in 0..<k {
                            sum += Double(x[r * ldx + j]) * Double(w[o * k + j])
                            magnitude += abs(Double(x[r * ldx + j]) * Double(w[o * k + j]))
                        }
                        // k + 1 fp32 roundings of partial sums bounded by `magnitude`.
                        let bound = Double(k + 1) * magnitude * Double(Float.ulpOfOne) + 1e-30
                        worst = max(worst, abs(Double(y[r * ldy + o]) - sum) / bound)
                    }
                    // The padding between rows is left alone.
                    for o in n..<ldy { XCTAssertEqual(y[r * ldy + o], start[r * ldy + o], "k \(k) n \(n) mode \(mode)") }
                }
                XCTAssertLessThanOrEqual(worst, 1, "k \(k) n \(n) mode \(mode)")
            }
        }
    }
}
