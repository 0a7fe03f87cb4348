import Foundation
import XCTest
import MambaKernels

/// A row of a projection gets the same bits however many rows are multiplied with it: packed reads then give every
/// read the output it gets alone, so parts of a run (`--shard`) and the whole run write the same bytes.
/// (OpenBLAS runs small products through other kernels, whose sums differ in the last bits.)
final class RowIndependenceTests: XCTestCase {
    /// Shapes (in, out) of the models' products: the d64 and d256 projections, heads, the motif track.
    static let shapes = [(64, 256), (128, 36), (128, 64), (4, 128), (64, 6), (64, 2), (64, 1), (256, 1024), (512, 48),
                         (16, 512), (512, 256), (256, 16)]
    static let rowCounts = Array(1...40) + [61, 62, 63, 64, 100, 150, 151, 200, 201, 255, 256, 300, 511, 512, 513, 700, 1024]

    func testFP32RowsDoNotDependOnTheRowCount() {
        for threads in [1, 2] {
            for (k, n) in Self.shapes {
                var rng = KernelRNG(seed: UInt64(k * 1000 + n))
                let full = 1024
                let x = rng.array(full * k), w = rng.array(n * k, scale: 0.2), b = rng.array(n)
                func product(_ rows: Int) -> [Float] {
                    var y = [Float](repeating: 0, count: rows * n)
                    Gemm.linear(x: x, rows: rows, inFeatures: k, weight: w, bias: b, outFeatures: n, y: &y, threads: threads)
                    return y
                }
                let all = product(full)
                for rows in Self.rowCounts where rows <= full {
                    let part = product(rows)
                    let differing = (0..<(rows * n)).filter { part[$0].bitPattern != all[$0].bitPattern }.count
                    XCTAssertEqual(differing, 0, "\(rows)×\(k)·\(k)×\(n), \(threads) threads")
                }
                // Rows that start further in (a read packed after others) get the same bits too.
                for (offset, rows) in [(1, 150), (37, 300), (150, 151), (255, 2), (300, 700)] where offset + rows <= full {
                    var y = [Float](repeating: 0, count: rows * n)
                    x.withUnsafeBufferPointer { xp in
                        Gemm.linear(x: xp.baseAddress! + offset * k, rows: rows, inFeatures: k, weight: w, bias: b,
                                    outFeatures: n, y: &y, threads: threads)
                    }
                    let differing = (0..<(rows * n)).filter { y[$0].bitPattern != all[offset * n + $0].bitPattern }.count
                    XCTAssertEqual(differing, 0, "rows \(offset)..<\(offset + rows) of \(k)·\(k)×\(n), \(threads) threads")
                }
            }
        }
    }

    func testBF16RowsDoNotDependOnTheRowCount() throws {
        for (k, n) in Self.shapes {
            var rng = KernelRNG(seed: UInt64(k * 1000 + n + 7))
            let full = 1024
            let x = rng.array(full * k), w = rng.array(n * k, scale: 0.2), b = rng.array(n)
            let weights = BF16LinearWeights(weight: w, outFeatures: n, inFeatures: k)
            guard weights.path != .none else { throw XCTSkip("bf16 path unavailable here: \(weights.fallbackReason ?? "")") }
            for threads in [1, 2] {
                func product(_ rows: Int) -> [Float] {
                    var y = [Float](repeating: 0, count: rows * n)
                    x.withUnsafeBufferPointer { xp in
                        b.withUnsafeBufferPointer { bp in
                            y.withUnsafeMutableBufferPointer {
                                _ = Gemm.linearBF16(x: xp.baseAddress!, rows: rows, weight: weights, bias: bp.baseAddress!,
                                                    y: $0.baseAddress!, threads: threads)
                            }
                        }
                    }
                    return y
                }
                let all = product(full)
                for rows in Self.rowCounts where rows <= full {
                    let part = product(rows)
                    let differing = (0..<(rows * n)).filter { part[$0].bitPattern != all[$0].bitPattern }.count
                    XCTAssertEqual(differing, 0, "bf16 \(rows)×\(k)·\(k)×\(n), \(threads) threads")
                }
            }
        }
    }
}
