import XCTest
import MambaKernels

/// The fast conv and scan read and write rows with arbitrary (also negative) strides, fuse SiLU into the conv,
/// accumulate into y, and compute row ranges separately for time slices. Each is checked against the plain
/// reference versions run on explicitly flipped/copied buffers, so the reference never relies on the strides
/// it is checking. Bounds as in CausalConv1dTests / SelectiveScanTests.
final class StridedKernelTests: XCTestCase {
    /// Flips a (rows, cols) buffer along rows.
    func flipped(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        (0..<rows).flatMap { r in x[((rows - 1 - r) * cols)..<((rows - r) * cols)] }
    }

    func testConvReversedInputFusedSiluAndRowSlices() {
        var seed: UInt64 = 40
        for (L, ch, k) in [(37, 17, 4), (200, 33, 3), (5, 16, 4), (64, 129, 2)] {
            for resets in [false, true] {
                var rng = KernelRNG(seed: seed); seed += 1
                let x = rng.array(L * ch), w = rng.array(ch * k, scale: 0.5), b = rng.array(ch)
                let hist = rng.array((k - 1) * ch)
                var reset = [UInt8](repeating: 0, count: L)
                if resets { for t in 0..<L where t % 9 == 5 { reset[t] = 1 } }
                // Reference: conv over the flipped copy, then SiLU.
                let xf = flipped(x, rows: L, cols: ch)
                var yRef = [Float](repeating: 0, count: L * ch)
                CausalConv1d.forwardReference(x: xf, length: L, channels: ch, weight: w, bias: b, kernelSize: k,
                                              history: hist, y: &yRef, resetBefore: resets ? reset : nil)
                for i in yRef.indices { yRef[i] = Activation.silu(yRef[i]) }
                // Reference with the stride and fused SiLU must agree with that exactly in structure.
                var yRefStrided = [Float](repeating: 0, count: L * ch)
                x.withUnsafeBufferPointer { xp in
                    CausalConv1d.forwardReference(x: xp.baseAddress! + (L - 1) * ch, ldx: -ch, length: L, channels: ch,
                                                  weight: w, bias: b, kernelSize: k, history: hist, y: &yRefStrided,
                                                  resetBefore: resets ? reset : nil, silu: true)
                }
                XCTAssertEqual(yRefStrided, yRef, "reference stride L \(L) ch \(ch)")
                // Fast: whole buffer on 1 and 3 threads, and three row slices computed separately.
                for threads in [1, 3] {
                    var y = [Float](repeating: .nan, count: L * ch)
                    x.withUnsafeBufferPointer { xp in
                        CausalConv1d.forward(x: xp.baseAddress! + (L - 1) * ch, ldx: -ch, length: L, channels: ch,
                                             weight: w, bias: b, kernelSize: k, history: hist, y: &y,
                                             resetBefore: resets ? reset : nil, silu: true, threads: threads)
                    }
                    XCTAssertLessThanOrEqual(zip(y, yRef).map { abs($0 - $1) }.max()!, 1e-5, "L \(L) ch \(ch) \(threads) threads")
                }
                var ySliced = [Float](repeating: .nan, count: L * ch)
                let cuts = [0, L / 3, L / 3 + 1, L]
                x.withUnsafeBufferPointer { xp in
                    ySliced.withUnsafeMutableBufferPointer { yp in
                        for s in 0..<(cuts.count - 1) {
                            CausalConv1d.forwardRows(cuts[s]..<cuts[s + 1], x: xp.baseAddress! + (L - 1) * ch, ldx: -ch,
                                                     length: L, channels: ch, weight: w, bias: b, kernelSize: k,
                                                     history: hist, y: yp.baseAddress!, resetBefore: resets ? reset : nil,
                                                     silu: true)
                        }
                    }
                }
                XCTAssertLessThanOrEqual(zip(ySliced, yRef).map { abs($0 - $1) }.max()!, 1e-5, "slices L \(L) ch \(ch)")
            }
        }
    }

    func testScanReversedStridesAndAccumulate() {
        var seed: UInt64 = 90
        for (L, d, n) in [(50, 33, 16), (7, 16, 4), (300, 64, 16), (40, 17, 3)] {
            for threads in [1, 2, 4] {
                var rng = KernelRNG(seed: seed); seed += 1
                let u = rng.array(L * d), delta = rng.array(L * d, scale: 1, offset: -1), z = rng.array(L * d)
                let bc = rng.array(L * 2 * n), D = rng.array(d), bias = rng.array(d, scale: 0.5, offset: -2)
                let A = (0..<(d * n)).map { _ in -rng.uniform(0.05, 16) }
                let y0 = rng.array(L * d)  // what y held before the scan adds into it
                // Reference: z read from a flipped copy, result written contiguously, then flipped and added by hand.
                var sRef = [Float](repeating: 0, count: d * n), yScan = [Float](repeating: 0, count: L * d)
                bc.withUnsafeBufferPointer { p in
                    SelectiveScan.forwardReference(u: u, delta: delta, A: A, B: p.baseAddress!, C: p.baseAddress! + n,
                                                   ldBC: 2 * n, D: D, z: flipped(z, rows: L, cols: d), deltaBias: bias,
                                                   state: &sRef, y: &yScan, length: L, d: d, n: n)
                }
                var yRef = y0
                for t in 0..<L { for c in 0..<d { yRef[(L - 1 - t) * d + c] += yScan[t * d + c] } }
                // Fast: z and y walked backwards in place, accumulating.
                var sFast = [Float](repeating: 0, count: d * n), yFast = y0
                bc.withUnsafeBufferPointer { p in
                    z.withUnsafeBufferPointer { zp in
                        yFast.withUnsafeMutableBufferPointer { yp in
                            SelectiveScan.forward(u: u, delta: delta, A: A, B: p.baseAddress!, C: p.baseAddress! + n,
                                                  ldBC: 2 * n, D: D, z: zp.baseAddress! + (L - 1) * d, deltaBias: bias,
                                                  state: &sFast, y: yp.baseAddress! + (L - 1) * d, length: L, d: d, n: n,
                                                  ldz: -d, ldy: -d, accumulate: true, threads: threads)
                        }
                    }
                }
                var err: Float = 0, scale: Float = 1
                for i in yRef.indices { err = max(err, abs(yFast[i] - yRef[i])); scale = max(scale, abs(yRef[i])) }
                for i in sRef.indices { err = max(err, abs(sFast[i] - sRef[i])) }
                XCTAssertLessThanOrEqual(err, 1e-5 * scale, "L \(L) d \(d) n \(n) threads \(threads)")
                XCTAssertNotEqual(yFast, y0, "the scan must have changed y")
            }
        }
    }
}
