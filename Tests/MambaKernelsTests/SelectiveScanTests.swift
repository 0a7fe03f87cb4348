import XCTest
import MambaKernels

/// `SelectiveScan.forward` against `forwardReference` on random inputs, including sizes that are not
/// multiples of the 16-channel vector (d = 1, 15, 17, 33), every d_state from 1 to 16, L = 1, packed
/// resets, strided B/C, a non-zero initial state and 1–3 threads.
/// Bound: max |fast − ref| ≤ 1e-5 · max(1, max |ref|) over y and over the final state. The fast scan differs
/// from the reference in its exp (a polynomial, relative error ≤ 2.5e-7, FastMathTests) and in FMAs; the
/// recurrence contracts (|exp(Δ·A)| < 1), so these errors do not grow with L: measured ≤ 7.2e-7 against
/// `selective_scan_ref` at L = 257, 14× inside the bound.
final class SelectiveScanTests: XCTestCase {
    struct Case {
        var L: Int, d: Int, n: Int
        var useD = true, useZ = true, useBias = true, resets = false, threads = 1, ldExtra = 0
    }

    @discardableResult
    func check(_ c: Case, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) -> Float {
        var rng = KernelRNG(seed: seed)
        let L = c.L, d = c.d, n = c.n
        let ld = 2 * n + c.ldExtra  // B and C interleaved in one wider row, as read from x_proj
        let u = rng.array(L * d), delta = rng.array(L * d, scale: 1, offset: -1), z = rng.array(L * d)
        let bc = rng.array(L * ld)
        let A = (0..<(d * n)).map { _ in -rng.uniform(0.05, 16) }  // negative, S4D-real-like range
        let D = rng.array(d), bias = rng.array(d, scale: 0.5, offset: -2)
        let h0 = rng.array(d * n, scale: 0.5)
        var reset = [UInt8](repeating: 0, count: L)
        if c.resets { for t in 0..<L where t % 7 == 3 || rng.uniform(0, 1) < 0.05 { reset[t] = 1 } }

        var yRef = [Float](repeating: 0, count: L * d), yFast = [Float](repeating: .nan, count: L * d)
        var sRef = h0, sFast = h0
        bc.withUnsafeBufferPointer { bcp in
            let B = bcp.baseAddress!, C = B + n
            reset.withUnsafeBufferPointer { rp in
                let r = c.resets ? rp.baseAddress : nil
                D.withUnsafeBufferPointer { Dp in z.withUnsafeBufferPointer { zp in bias.withUnsafeBufferPointer { bp in
                    let Dq = c.useD ? Dp.baseAddress : nil, zq = c.useZ ? zp.baseAddress : nil
                    let bq = c.useBias ? bp.baseAddress : nil
                    SelectiveScan.forwardReference(u: u, delta: delta, A: A, B: B, C: C, ldBC: ld, D: Dq, z: zq,
                                                   deltaBias: bq, state: &sRef, y: &yRef, length: L, d: d, n: n,
                                                   resetBefore: r)
                    SelectiveScan.forward(u: u, delta: delta, A: A, B: B, C: C, ldBC: ld, D: Dq, z: zq,
                                          deltaBias: bq, state: &sFast, y: &yFast, length: L, d: d, n: n,
                                          resetBefore: r, threads: c.threads)
                } } }
            }
        }
        var err: Float = 0, scale: Float = 1
        for i in 0..<(L * d) { err = max(err, abs(yFast[i] - yRef[i])); scale = max(scale, abs(yRef[i])) }
        for i in 0..<(d * n) { err = max(err, abs(sFast[i] - sRef[i])); scale = max(scale, abs(sRef[i])) }
        XCTAssertFalse(yFast.contains { $0.isNaN } || sFast.contains { $0.isNaN }, "\(c)", file: file, line: line)
        XCTAssertLessThanOrEqual(err, 1e-5 * scale, "\(c)", file: file, line: line)
        return err / scale
    }

    func testOddSizesAllStateSizes() {
        var worst: Float = 0
        var seed: UInt64 = 1
        for d in [1, 15, 16, 17, 33] {
            for n in 1...16 {
                for L in [1, 5, 40] {
                    worst = max(worst, check(Case(L: L, d: d, n: n), seed: seed))
                    seed += 1
                }
            }
        }
        print("scan fast vs reference, odd sizes: max error / max(1, |ref|) = \(worst)")
    }

    func testOptionalInputsAndStrides() {
        var seed: UInt64 = 1000
        for (useD, useZ, useBias) in [(false, false, false), (true, false, true), (false, true, false), (true, true, true)] {
            for n in [4, 16, 5] {
                check(Case(L: 70, d: 33, n: n, useD: useD, useZ: useZ, useBias: useBias, ldExtra: 3), seed: seed)
                seed += 1
            }
        }
    }

    func testPackedResets() {
        var seed: UInt64 = 2000
        for d in [1, 17, 48] {
            for n in [1, 4, 7, 16] {
                check(Case(L: 200, d: d, n: n, resets: true), seed: seed)
                seed += 1
            }
        }
    }

    /// Inputs large enough for the multi-threaded path, with a partial last block and resets.
    func testThreads() {
        var worst: Float = 0
        var seed: UInt64 = 3000
        for threads in [1, 2, 3] {
            for (L, d, n) in [(97, 300, 16), (64, 520, 8), (300, 100, 12)] {
                worst = max(worst, check(Case(L: L, d: d, n: n, resets: threads == 2, threads: threads, ldExtra: 5),
                                         seed: seed))
                seed += 1
            }
        }
        print("scan fast vs reference, threaded: max error / max(1, |ref|) = \(worst)")
    }

    /// Large Δ·A (decays far below float32's range) and large positive raw delta (softplus threshold).
    func testExtremeDecays() {
        let L = 50, d = 17, n = 16
        var rng = KernelRNG(seed: 4000)
        let u = rng.array(L * d), z = rng.array(L * d), bc = rng.array(L * 2 * n)
        let delta = (0..<(L * d)).map { i in i % 3 == 0 ? Float(25 + i % 40) : rng.normal() }
        let A = (0..<(d * n)).map { i in i % 2 == 0 ? -Float(200 + i) : -rng.uniform(0, 1) }
        var yRef = [Float](repeating: 0, count: L * d), yFast = yRef
        var sRef = [Float](repeating: 0, count: d * n), sFast = sRef
        bc.withUnsafeBufferPointer { p in
            SelectiveScan.forwardReference(u: u, delta: delta, A: A, B: p.baseAddress!, C: p.baseAddress! + n, ldBC: 2 * n,
                                           D: nil, z: z, deltaBias: nil, state: &sRef, y: &yRef, length: L, d: d, n: n)
            SelectiveScan.forward(u: u, delta: delta, A: A, B: p.baseAddress!, C: p.baseAddress! + n, ldBC: 2 * n,
                                  D: nil, z: z, deltaBias: nil, state: &sFast, y: &yFast, length: L, d: d, n: n)
        }
        var err: Float = 0, scale: Float = 1
        for i in 0..<(L * d) { err = max(err, abs(yFast[i] - yRef[i])); scale = max(scale, abs(yRef[i])) }
        for i in 0..<(d * n) { err = max(err, abs(sFast[i] - sRef[i])); scale = max(scale, abs(sRef[i])) }
        XCTAssertLessThanOrEqual(err, 1e-5 * scale)
    }

    /// Scanning in two calls (state carried through `state`) equals one call.
    func testStreamingContinuation() {
        let L = 90, d = 20, n = 16, cut = 37
        var rng = KernelRNG(seed: 5000)
        let u = rng.array(L * d), delta = rng.array(L * d), z = rng.array(L * d), bc = rng.array(L * 2 * n)
        let A = (0..<(d * n)).map { _ in -rng.uniform(0.1, 8) }
        var y1 = [Float](repeating: 0, count: L * d), y2 = y1
        var s1 = [Float](repeating: 0, count: d * n), s2 = s1
        bc.withUnsafeBufferPointer { p in
            let B = p.baseAddress!, C = B + n
            SelectiveScan.forward(u: u, delta: delta, A: A, B: B, C: C, ldBC: 2 * n, D: nil, z: z, deltaBias: nil,
                                  state: &s1, y: &y1, length: L, d: d, n: n)
            u.withUnsafeBufferPointer { up in delta.withUnsafeBufferPointer { dp in z.withUnsafeBufferPointer { zp in
                y2.withUnsafeMutableBufferPointer { yp in
                    let uq = up.baseAddress!, dq = dp.baseAddress!, zq = zp.baseAddress!, yq = yp.baseAddress!
                    SelectiveScan.forward(u: uq, delta: dq, A: A, B: B, C: C, ldBC: 2 * n, D: nil, z: zq,
                                          deltaBias: nil, state: &s2, y: yq, length: cut, d: d, n: n)
                    let o = cut * d
                    SelectiveScan.forward(u: uq + o, delta: dq + o, A: A, B: B + cut * 2 * n, C: C + cut * 2 * n,
                                          ldBC: 2 * n, D: nil, z: zq + o, deltaBias: nil, state: &s2,
                                          y: yq + o, length: L - cut, d: d, n: n)
                }
            } } }
        }
        XCTAssertEqual(y1, y2)
        XCTAssertEqual(s1, s2)
    }

    /// A caller's scratch (reused across calls, stale contents included) gives the same bits as the scan's own,
    /// on 1–3 threads.
    func testCallerScratchMatchesOwn() {
        let L = 600, d = 40, n = 16
        var rng = KernelRNG(seed: 6000)
        let u = rng.array(L * d), delta = rng.array(L * d), z = rng.array(L * d), bc = rng.array(L * 2 * n)
        let A = (0..<(d * n)).map { _ in -rng.uniform(0.1, 8) }, h0 = rng.array(d * n, scale: 0.5)
        let bytes = SelectiveScan.scratchBytes(d: d, n: n, threads: 3)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 64)
        defer { scratch.deallocate() }
        scratch.initializeMemory(as: Float.self, repeating: .nan)
        bc.withUnsafeBufferPointer { p in
            let B = p.baseAddress!, C = B + n
            for threads in [1, 2, 3, 1] {
                var yOwn = [Float](repeating: 0, count: L * d), yGiven = yOwn
                var sOwn = h0, sGiven = h0
                SelectiveScan.forward(u: u, delta: delta, A: A, B: B, C: C, ldBC: 2 * n, D: nil, z: z, deltaBias: nil,
                                      state: &sOwn, y: &yOwn, length: L, d: d, n: n, threads: threads)
                SelectiveScan.forward(u: u, delta: delta, A: A, B: B, C: C, ldBC: 2 * n, D: nil, z: z, deltaBias: nil,
                                      state: &sGiven, y: &yGiven, length: L, d: d, n: n, threads: threads,
                                      scratch: scratch)
                XCTAssertEqual(yOwn, yGiven, "\(threads) threads")
                XCTAssertEqual(sOwn, sGiven, "\(threads) threads")
            }
        }
    }
}
