import Foundation
import XCTest
import MambaKernels

/// The bf16 projection (`Gemm.linearBF16`, oneDNN matmul) against its plain reference and against the fp32 product.
///
/// Bounds, from the arithmetic (u32 = 2⁻²⁴, the fp32 unit roundoff; ub = 2⁻⁸, the bf16 unit roundoff: 8 significant bits):
/// - fast vs reference: both start from the same bf16-rounded x̂, ŵ. A product of two bf16 values has at most 16
///   significant bits, so it is exact in fp32; summing k of them in fp32 in any order (blocking, vdpbf16ps pairs)
///   errs by at most γ(k−1)·Σ|x̂ŵ| with γ(n) = n·u32/(1 − n·u32); adding the bias (or the old y) is one more rounding,
///   and the reference (exact in Double, then one rounding to Float) one more: |fast − ref| ≤ (k+2)·u32·(Σ|x̂ŵ| + |b|).
/// - bf16 vs fp32: x̂ = x(1+δ₁), ŵ = w(1+δ₂), |δ| ≤ ub, so |x̂ŵ − xw| ≤ (2ub + ub²)|xw|; each side adds its own fp32
///   accumulation error (k+1)·u32·(Σ|products| + |b|), with Σ|x̂ŵ| ≤ (1+ub)²Σ|xw|.
/// Elementwise bounds; no denormals arise from the magnitudes used here.
final class GemmBF16Tests: XCTestCase {
    let u32 = 0x1p-24, ub = 0x1p-8

    // MARK: conversion

    func testRoundToNearestEvenAndSpecials() {
        let cases: [(UInt32, UInt16, String)] = [
            (0x3F80_0000, 0x3F80, "1 exact"),
            (0x3F80_8000, 0x3F80, "1 + half ulp: tie to even (down)"),
            (0x3F81_8000, 0x3F82, "odd + half ulp: tie to even (up)"),
            (0x3F80_8001, 0x3F81, "just above the tie"),
            (0x3F80_7FFF, 0x3F80, "just below the tie"),
            (0xBF81_8000, 0xBF82, "negative tie to even"),
            (0x0000_0000, 0x0000, "+0"), (0x8000_0000, 0x8000, "-0"),
            (0x7F80_0000, 0x7F80, "+Inf"), (0xFF80_0000, 0xFF80, "-Inf"),
            (0x7F7F_FFFF, 0x7F80, "largest float rounds up to Inf"),
            (0x7F7F_7FFF, 0x7F7F, "largest bf16 stays finite"),
            (0x0000_0001, 0x0000, "smallest denormal rounds to 0"),
            (0x0000_8000, 0x0000, "denormal tie to even (down)"),
            (0x0001_8000, 0x0002, "denormal tie to even (up)"),
            (0x7FC0_0000, 0x7FC0, "quiet NaN"),
            (0x7F80_0001, 0x7FC0, "signalling NaN with low payload stays NaN (not Inf)"),
            (0xFFFF_FFFF, 0xFFFF, "NaN with all bits set does not carry into the sign"),
            (0xFF80_0001, 0xFFC0, "negative signalling NaN"),
        ]
        for (bits, want, what) in cases {
            let f = Float(bitPattern: bits)
            XCTAssertEqual(BFloat16.fromFloat(f), want, what)
            var bulk = [UInt16](repeating: 0, count: 37)   // the bulk loop: vector body and scalar tail
            [Float](repeating: f, count: 37).withUnsafeBufferPointer { BFloat16.convert($0.baseAddress!, to: &bulk, count: 37) }
            XCTAssertEqual(bulk, [UInt16](repeating: want, count: 37), "bulk: " + what)
        }
        // Every bf16 value converts to fp32 and back unchanged (NaNs: stay NaN).
        for b in 0...UInt32(0xFFFF) {
            let b16 = UInt16(b), f = BFloat16.toFloat(b16)
            if f.isNaN { XCTAssertTrue(BFloat16.toFloat(BFloat16.fromFloat(f)).isNaN) } else {
                XCTAssertEqual(BFloat16.fromFloat(f), b16)
            }
        }
    }

    /// Random bit patterns: the result is a nearest bf16 (checked in Double, without the bit trick), ties go to
    /// the even one, and the bulk (vectorised) conversion agrees with the scalar one bit for bit.
    func testRandomPatternsAreNearestEvenAndBulkMatchesScalar() {
        var rng = KernelRNG(seed: 16)
        let n = 200_003
        let src = (0..<n).map { i -> Float in
            let bits = UInt32(truncatingIfNeeded: rng.next() >> 32)
            return Float(bitPattern: i % 7 == 0 ? bits & 0xFFFF_8000 | 0x8000 : bits)   // every 7th: a tie
        }
        var bulk = [UInt16](repeating: 0, count: n)
        src.withUnsafeBufferPointer { s in
            bulk.withUnsafeMutableBufferPointer { d in BFloat16.convert(s.baseAddress!, to: d.baseAddress!, count: n) }
        }
        for (i, f) in src.enumerated() {
            let b = BFloat16.fromFloat(f)
            XCTAssertEqual(bulk[i], b, "bulk vs scalar at \(f.bitPattern)")
            if f.isNaN { XCTAssertTrue(BFloat16.toFloat(b).isNaN); continue }
            if f.isInfinite { XCTAssertEqual(BFloat16.toFloat(b), f); continue }
            let r = Double(BFloat16.toFloat(b)), x = Double(f)
            // Neighbours of the result one bf16 step either side (as Double, so the largest finite has one above).
            let down = Double(BFloat16.toFloat(b &- 1)), up: Double
            let mag = b & 0x7FFF
            if mag == 0x7F80 {   // rounded to Inf: x must be at least halfway between the largest bf16 and 2^128
                let largest = Double(BFloat16.toFloat(0x7F7F))
                XCTAssertGreaterThanOrEqual(abs(x), (largest + 0x1p128) / 2, "overflow to Inf at \(f.bitPattern)")
                continue
            }
            up = mag == 0x7F7F ? (r < 0 ? -0x1p128 : 0x1p128) : Double(BFloat16.toFloat(b &+ 1))
            let err = abs(x - r)
            let other = [down, up].filter { !$0.isNaN && $0 != r && (mag != 0 || $0.sign == r.sign) }
            for o in other where (o - r).sign == (x - r).sign || x == r {
                XCTAssertLessThanOrEqual(err, abs(x - o), "not nearest at \(f.bitPattern)")
                if err == abs(x - o) { XCTAssertEqual(b & 1, 0, "tie not to even at \(f.bitPattern)") }
            }
        }
    }

    // MARK: products

    /// One case: fast bf16, plain reference and fp32 on the same strided buffers.
    private func check(rows: Int, k: Int, n: Int, ldxPad: Int, ldyPad: Int, bias useBias: Bool, accumulate: Bool,
                       threads: Int, seed: UInt64, rowStep: Int = 1,
                       threading: BF16Threading = .oneDNN, file: StaticString = #filePath, line: UInt = #line) throws
        -> (fastVsRef: Double, bf16VsFP32: Double) {
        var rng = KernelRNG(seed: seed)
        let ldx = k + ldxPad, ldy = n + ldyPad
        let x = rng.array(rows * ldx), w = rng.array(n * k, scale: 1 / Float(k).squareRoot())
        let bias = useBias ? rng.array(n, scale: 0.5) : []
        let y0 = rng.array(rows * ldy)          // old y: accumulated into, and the padding must survive
        let weights = BF16LinearWeights(weight: w, outFeatures: n, inFeatures: k)
        guard weights.path != .none else {
            throw XCTSkip("bf16 path unavailable here: \(weights.fallbackReason ?? "")")
        }
        var fast = y0, ref = y0, fp32 = y0
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                bias.withUnsafeBufferPointer { bp in
                    let b = useBias ? bp.baseAddress : nil
                    fast.withUnsafeMutableBufferPointer { y in
                        let path = Gemm.linearBF16(x: xp.baseAddress!, rows: rows, ldx: ldx, weight: weights, bias: b,
                                                   y: y.baseAddress!, ldy: ldy, accumulate: accumulate, threads: threads,
                                                   threading: threading)
                        XCTAssertEqual(path, weights.path, file: file, line: line)
                    }
                    ref.withUnsafeMutableBufferPointer { y in
                        for r in stride(from: 0, to: rows, by: rowStep) {   // the reference one sampled row at a time
                            Gemm.linearBF16Reference(x: xp.baseAddress! + r * ldx, rows: 1, inFeatures: k, ldx: ldx,
                                                     weight: wp.baseAddress!, bias: b, outFeatures: n,
                                                     y: y.baseAddress! + r * ldy, ldy: ldy, accumulate: accumulate)
                        }
                    }
                    fp32.withUnsafeMutableBufferPointer { y in
                        Gemm.linear(x: xp.baseAddress!, rows: rows, inFeatures: k, ldx: ldx, weight: wp.baseAddress!,
                                    bias: b, outFeatures: n, y: y.baseAddress!, ldy: ldy, accumulate: accumulate)
                    }
                }
            }
        }
        var worstA = 0.0, worstB = 0.0, biggestB = 0.0, scaleB = 0.0
        for r in stride(from: 0, to: rows, by: rowStep) {
            for c in n..<ldy { XCTAssertEqual(fast[r * ldy + c], y0[r * ldy + c], "padding overwritten", file: file, line: line) }
            for o in 0..<n {
                var sq = 0.0, s = 0.0
                for i in 0..<k {
                    let xv = Double(x[r * ldx + i]), wv = Double(w[o * k + i])
                    sq += abs(Double(BFloat16.rounded(Float(xv))) * Double(BFloat16.rounded(Float(wv))))
                    s += abs(xv * wv)
                }
                let add = accumulate ? abs(Double(y0[r * ldy + o])) : (useBias ? abs(Double(bias[o])) : 0)
                let i = r * ldy + o
                let boundA = Double(k + 2) * u32 * (sq + add)
                let boundB = (2 * ub + ub * ub + 2 * Double(k + 1) * u32 * (1 + ub) * (1 + ub)) * s + 2 * Double(k + 1) * u32 * add
                let eA = abs(Double(fast[i]) - Double(ref[i])), eB = abs(Double(fast[i]) - Double(fp32[i]))
                XCTAssertLessThanOrEqual(eA, boundA, "fast vs reference r\(r) o\(o)", file: file, line: line)
                XCTAssertLessThanOrEqual(eB, boundB, "bf16 vs fp32 r\(r) o\(o)", file: file, line: line)
                worstA = max(worstA, boundA > 0 ? eA / boundA : 0); worstB = max(worstB, boundB > 0 ? eB / boundB : 0)
                biggestB = max(biggestB, eB); scaleB = max(scaleB, Double(k + 2) * u32 * (s + add))
            }
        }
        // The inputs really went through bf16: the difference from fp32 is far above fp32 accumulation error.
        if k >= 8 { XCTAssertGreaterThan(biggestB, 10 * scaleB, "bf16 result equals the fp32 one", file: file, line: line) }
        return (worstA, worstB)
    }

    func testMatchesReferenceAndFP32OddSizesBiasStrides() throws {
        var seed: UInt64 = 1600
        var report: [String] = []
        let shapes = [(37, 23, 19), (1, 16, 1), (5, 257, 33), (130, 512, 48), (64, 16, 512), (300, 96, 100)]
        let configs = [(false, false, 0), (true, false, 5), (false, true, 3), (true, true, 1)]
        for (si, (rows, k, n)) in shapes.enumerated() {
            for (ci, (bias, acc, pad)) in configs.enumerated() {
                // 1, 2 and 3 threads in turn, so every shape meets several thread counts.
                for threads in [1 + (si + ci) % 3, 1 + (si + ci + 1) % 3] {
                    seed += 1
                    let e = try check(rows: rows, k: k, n: n, ldxPad: pad, ldyPad: pad == 0 ? 0 : pad + 2, bias: bias,
                                      accumulate: acc, threads: threads, seed: seed,
                                      threading: seed % 2 == 0 ? .oneDNN : .rowBlocks)
                    report.append("(\(rows)×\(k))·(\(k)×\(n)) bias \(bias) acc \(acc) pad \(pad) threads \(threads) "
                                  + "\(seed % 2 == 0 ? "team" : "blocks"): "
                                  + "fast/ref \(String(format: "%.3f", e.fastVsRef)), bf16/fp32 \(String(format: "%.3f", e.bf16VsFP32))")
                }
            }
        }
        print("bf16 error as a fraction of its bound (worst element):\n  " + report.joined(separator: "\n  "))
    }

    /// Every row count runs as pieces of `BF16LinearWeights.pieceRows` rows, so a weight seen with many row counts
    /// (packed reads: a new count per batch) keeps a fixed number of primitives, and each result still matches the
    /// plain reference.
    func testPrimitiveCacheStaysBoundedOverManyRowCounts() throws {
        let k = 24, n = 40
        var rng = KernelRNG(seed: 77)
        let w = rng.array(n * k, scale: 0.2)
        let weights = BF16LinearWeights(weight: w, outFeatures: n, inFeatures: k)
        guard weights.path != .none else { throw XCTSkip("bf16 path unavailable here: \(weights.fallbackReason ?? "")") }
        for rows in Array(1...40) + [511, 512, 513, 700, 1000, 1337] {
            let x = rng.array(rows * k)
            var fast = [Float](repeating: 0, count: rows * n), ref = fast
            x.withUnsafeBufferPointer { xp in
                w.withUnsafeBufferPointer { wp in
                    fast.withUnsafeMutableBufferPointer {
                        _ = Gemm.linearBF16(x: xp.baseAddress!, rows: rows, weight: weights, y: $0.baseAddress!, threads: 1)
                    }
                    ref.withUnsafeMutableBufferPointer {
                        Gemm.linearBF16Reference(x: xp.baseAddress!, rows: rows, inFeatures: k, weight: wp.baseAddress!,
                                                 outFeatures: n, y: $0.baseAddress!)
                    }
                }
            }
            // fp32 accumulation of k exact products of bf16 values: at most (k + 2)·2⁻²⁴·Σ|x·w| from the exact sum.
            for r in 0..<rows {
                for o in 0..<n {
                    var s = 0.0
                    for i in 0..<k { s += abs(Double(BFloat16.rounded(x[r * k + i])) * Double(BFloat16.rounded(w[o * k + i]))) }
                    XCTAssertLessThanOrEqual(Double(abs(fast[r * n + o] - ref[r * n + o])), Double(k + 2) * 0x1p-24 * s,
                                             "rows \(rows) r\(r) o\(o)")
                }
            }
        }
        XCTAssertLessThanOrEqual(weights.cachedPrimitiveCount, BF16LinearWeights.pieceRows.count)
    }

    /// The projection shapes of the d256 model at 2,048 rows (every 16th row checked: the reference is slow unoptimised).
    func testModelShapes() throws {
        for (k, n) in [(256, 1024), (512, 48), (16, 512), (512, 256)] {
            let e = try check(rows: 2048, k: k, n: n, ldxPad: 0, ldyPad: 0, bias: true, accumulate: false, threads: 2,
                              seed: UInt64(k * n), rowStep: 16, threading: k == 512 ? .rowBlocks : .oneDNN)
            print("2048×\(k)·\(k)×\(n): fast/ref \(e.fastVsRef), bf16/fp32 \(e.bf16VsFP32) of bound")
        }
    }

    func testNaNAndInfInInputPropagate() throws {
        let rows = 3, k = 20, n = 17
        var rng = KernelRNG(seed: 9)
        var x = rng.array(rows * k)
        var w = rng.array(n * k, scale: 0.2)
        for o in 0..<n { w[o * k + 2] = 0.5 + Float(o) / 64 }     // column 2 positive: Inf · w = +Inf
        x[0 * k + 3] = .nan
        for i in 0..<k { x[1 * k + i] = 0 }
        x[1 * k + 2] = .infinity
        let weights = BF16LinearWeights(weight: w, outFeatures: n, inFeatures: k)
        guard weights.path != .none else { throw XCTSkip("bf16 path unavailable here") }
        var y = [Float](repeating: 0, count: rows * n), ref = y
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { _ = Gemm.linearBF16(x: xp.baseAddress!, rows: rows, weight: weights, y: $0.baseAddress!) }
            w.withUnsafeBufferPointer { wp in
                ref.withUnsafeMutableBufferPointer {
                    Gemm.linearBF16Reference(x: xp.baseAddress!, rows: rows, inFeatures: k, weight: wp.baseAddress!,
                                             outFeatures: n, y: $0.baseAddress!)
                }
            }
        }
        for o in 0..<n {
            XCTAssertTrue(y[o].isNaN && ref[o].isNaN, "NaN row, output \(o): \(y[o])")
            XCTAssertEqual(y[n + o], .infinity, "Inf row, output \(o)")
            XCTAssertEqual(ref[n + o], .infinity)
            XCTAssertTrue(y[2 * n + o].isFinite)
        }
    }

    // MARK: dispatch

    /// A CPU without bf16 (simulated): the weights stay fp32 and the bf16 entry point returns `Gemm.linear`'s
    /// result bit for bit, saying it took the fallback.
    func testFallbackWithoutBF16IsTheFP32Product() {
        let rows = 29, k = 37, n = 21, ldx = 40, ldy = 25
        var rng = KernelRNG(seed: 77)
        let x = rng.array(rows * ldx), w = rng.array(n * k, scale: 0.2), bias = rng.array(n)
        let weights = BF16LinearWeights(weight: w, outFeatures: n, inFeatures: k, features: .none)
        XCTAssertEqual(weights.path, .none)
        XCTAssertEqual(weights.fallbackReason, "CPU has no avx512_bf16 or amx_bf16")
        var y = [Float](repeating: -7, count: rows * ldy), want = y
        x.withUnsafeBufferPointer { xp in
            bias.withUnsafeBufferPointer { bp in
                let path = y.withUnsafeMutableBufferPointer {
                    Gemm.linearBF16(x: xp.baseAddress!, rows: rows, ldx: ldx, weight: weights, bias: bp.baseAddress!,
                                    y: $0.baseAddress!, ldy: ldy, threads: 2)
                }
                XCTAssertEqual(path, .none)
                w.withUnsafeBufferPointer { wp in
                    want.withUnsafeMutableBufferPointer {
                        Gemm.linear(x: xp.baseAddress!, rows: rows, inFeatures: k, ldx: ldx, weight: wp.baseAddress!,
                                    bias: bp.baseAddress!, outFeatures: n, y: $0.baseAddress!, ldy: ldy)
                    }
                }
            }
        }
        XCTAssertEqual(y, want)
    }

    /// CPUID agrees with the kernel's own view in /proc/cpuinfo (Linux), unless the environment hides bf16.
    func testFeaturesMatchProcCpuinfo() throws {
        let f = CPUFeatures.detect()
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no /proc/cpuinfo")
        }
        let flags = Set(line.split(separator: ":", maxSplits: 1)[1].split(separator: " ").map(String.init))
        XCTAssertEqual(f.avx512f, flags.contains("avx512f"))
        XCTAssertEqual(f.avx512bf16, flags.contains("avx512_bf16"))
        XCTAssertEqual(f.amxTile, flags.contains("amx_tile"))
        XCTAssertEqual(f.amxBF16, flags.contains("amx_bf16"))
        let expected: BF16Path = flags.contains("amx_bf16") ? .amx : flags.contains("avx512_bf16") ? .avx512bf16 : .none
        XCTAssertEqual(f.bf16Path, expected)
        print("CPU features: \(f), bf16 path \(f.bf16Path.rawValue); in use: \(CPUFeatures.current.bf16Path.rawValue)")
    }
}
