import XCTest
import MambaKernels

/// `CausalConv1d.forward` against `forwardReference`: odd channel counts, kernel sizes 1–5, with and
/// without bias/history, packed resets, threads. Bound: max abs error ≤ 1e-5 (inputs O(1); the fast
/// version sums in the reference's order, with fused multiply-adds).
final class CausalConv1dTests: XCTestCase {
    func check(L: Int, ch: Int, k: Int, bias: Bool, history: Bool, resets: Bool, threads: Int, seed: UInt64,
               file: StaticString = #filePath, line: UInt = #line) {
        var rng = KernelRNG(seed: seed)
        let x = rng.array(L * ch), w = rng.array(ch * k, scale: 0.5), b = rng.array(ch)
        let hist = rng.array(max(k - 1, 0) * ch)
        var reset = [UInt8](repeating: 0, count: L)
        if resets { for t in 0..<L where t % 11 == 4 || rng.uniform(0, 1) < 0.05 { reset[t] = 1 } }
        var yRef = [Float](repeating: 0, count: L * ch), yFast = [Float](repeating: .nan, count: L * ch)
        b.withUnsafeBufferPointer { bp in hist.withUnsafeBufferPointer { hp in reset.withUnsafeBufferPointer { rp in
            let bq = bias ? bp.baseAddress : nil, hq = history ? hp.baseAddress : nil, rq = resets ? rp.baseAddress : nil
            CausalConv1d.forwardReference(x: x, length: L, channels: ch, weight: w, bias: bq, kernelSize: k,
                                          history: hq, y: &yRef, resetBefore: rq)
            CausalConv1d.forward(x: x, length: L, channels: ch, weight: w, bias: bq, kernelSize: k,
                                 history: hq, y: &yFast, resetBefore: rq, threads: threads)
        } } }
        var err: Float = 0
        for i in 0..<(L * ch) { err = max(err, abs(yFast[i] - yRef[i])) }
        XCTAssertLessThanOrEqual(err, 1e-5, "L \(L) ch \(ch) k \(k) bias \(bias) history \(history) resets \(resets)",
                                 file: file, line: line)
    }

    func testOddSizes() {
        var seed: UInt64 = 1
        for ch in [1, 15, 16, 17, 33] {
            for k in 1...5 {
                for L in [1, 3, 20] {
                    for (bias, history, resets) in [(true, false, false), (false, true, false), (true, true, true)] {
                        check(L: L, ch: ch, k: k, bias: bias, history: history, resets: resets, threads: 1, seed: seed)
                        seed += 1
                    }
                }
            }
        }
    }

    func testThreads() {
        var seed: UInt64 = 500
        for threads in [2, 3] {
            for resets in [false, true] {
                check(L: 700, ch: 129, k: 4, bias: true, history: true, resets: resets, threads: threads, seed: seed)
                seed += 1
            }
        }
    }

    /// Rows with taps the caller transposed once give the same bits as rows that transpose their own.
    func testCallerTapsMatchOwn() {
        let L = 300, ch = 33, k = 4
        var rng = KernelRNG(seed: 700)
        let x = rng.array(L * ch), w = rng.array(ch * k, scale: 0.5), b = rng.array(ch), hist = rng.array((k - 1) * ch)
        var taps = [Float](repeating: .nan, count: CausalConv1d.tapsCount(channels: ch, kernelSize: k))
        CausalConv1d.transposeTaps(w, channels: ch, kernelSize: k, into: &taps)
        var yOwn = [Float](repeating: .nan, count: L * ch), yGiven = yOwn
        for rows in [0..<L, 5..<120, 120..<L] {
            CausalConv1d.forwardRows(rows, x: x, length: L, channels: ch, weight: w, bias: b, kernelSize: k,
                                     history: hist, y: &yOwn, silu: true)
            CausalConv1d.forwardRows(rows, x: x, length: L, channels: ch, weight: w, bias: b, kernelSize: k,
                                     history: hist, y: &yGiven, silu: true, taps: taps)
        }
        XCTAssertEqual(yOwn, yGiven)
    }
}
