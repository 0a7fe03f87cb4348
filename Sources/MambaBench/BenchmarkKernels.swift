import Foundation
import MambaKernels
import MambaModel

/// Kernel figures: the selective scan alone and the projections' matrix products.
enum BenchKernels {
    /// Scan of d_inner 512, d_state 16 over 8,192 positions with Mamba-like inputs: ns per (position × channel),
    /// on 1 thread (wall and thread-CPU time) and on all threads (wall).
    static func scan(_ o: Benchmark.Options, _ report: (Benchmark.Result) -> Void) {
        let L = 8192, d = 512, n = 16
        var rng = RandomSource(seed: o.seed)
        func buf(_ count: Int, _ lo: Float, _ hi: Float) -> [Float] {
            var v = [Float](repeating: 0, count: count); rng.fillUniform(&v, low: lo, high: hi); return v
        }
        let u = buf(L * d, -1, 1), delta = buf(L * d, -3, 1), z = buf(L * d, -2, 2), bc = buf(L * 2 * n, -1, 1)
        let A = (0..<(d * n)).map { -Float($0 % n + 1) }, D = [Float](repeating: 1, count: d), bias = buf(d, -4, -2)
        var state = [Float](repeating: 0, count: d * n), y = [Float](repeating: 0, count: L * d)
        func once(_ threads: Int) {
            bc.withUnsafeBufferPointer { bcp in
                state.withUnsafeMutableBufferPointer { s in
                    y.withUnsafeMutableBufferPointer { yy in
                        // B and C read in place from one (L, 2n) buffer, as the mixer reads them from x_proj's output.
                        SelectiveScan.forward(u: u, delta: delta, A: A, B: bcp.baseAddress!, C: bcp.baseAddress! + n,
                                              ldBC: 2 * n, D: D, z: z, deltaBias: bias, state: s.baseAddress!,
                                              y: yy.baseAddress!, length: L, d: d, n: n, threads: threads)
                    }
                }
            }
        }
        let per = { (s: Double) in s * 1e9 / Double(L * d) }
        let one = BenchClock.measure(runs: o.runs) { once(1) }
        var r = Benchmark.result(.scan, "scan ns/(t·d), wall", threads: 1, length: L, unit: "ns", seconds: one.wall, per)
        report(r)
        r = Benchmark.result(.scan, "scan ns/(t·d), thread CPU", threads: 1, length: L, unit: "ns", seconds: one.cpu, per)
        report(r)
        if o.threads > 1 {
            let all = BenchClock.measure(runs: o.runs) { once(o.threads) }
            report(Benchmark.result(.scan, "scan ns/(t·d), wall", threads: o.threads, length: L, unit: "ns",
                                    seconds: all.wall, per))
        }
    }

    /// GFLOP/s of the d256 model's projections over a block of 2,048 rows: in_proj (x and z halves), x_proj,
    /// dt_proj, out_proj; each as the fp32 `Gemm.linear` and, beside it in the same run, the bf16 `Gemm.linearBF16`
    /// (x rounded to bf16 on every call, which the figure includes). On a CPU without bf16 the bf16 row is named
    /// "bf16→fp32" and measures the fallback.
    static func gemm(_ o: Benchmark.Options, _ report: (Benchmark.Result) -> Void) {
        let rows = 2048, dModel = 256, dInner = 512, dtRank = 16, dxp = dtRank + 32
        let shapes: [(String, Int, Int)] = [("in_proj", dModel, 2 * dInner), ("x_proj", dInner, dxp),
                                           ("dt_proj", dtRank, dInner), ("out_proj", dInner, dModel)]
        var rng = RandomSource(seed: o.seed)
        for (name, k, nOut) in shapes {
            var x = [Float](repeating: 0, count: rows * k), w = [Float](repeating: 0, count: nOut * k)
            rng.fillUniform(&x, low: -1, high: 1); rng.fillUniform(&w, low: -0.1, high: 0.1)
            var y = [Float](repeating: 0, count: rows * nOut)
            let wBF16 = BF16LinearWeights(weight: w, outFeatures: nOut, inFeatures: k)
            let flop = 2.0 * Double(rows * k * nOut)
            let shape = "(\(rows)×\(k))·(\(k)×\(nOut)) GFLOP/s"
            for t in Set([1, o.threads]).sorted() {
                // Repeat small products so one timed run lasts long enough for the clock.
                let reps = max(1, Int(2e8 / flop))
                // fp32; bf16 on oneDNN's OpenMP team; with several threads also bf16 split into row blocks.
                let variants: [(bf16: Bool, threading: BF16Threading)] =
                    [(false, .oneDNN), (true, .oneDNN)] + (t > 1 ? [(true, .rowBlocks)] : [])
                for (bf16, threading) in variants {
                    // OpenBLAS's workers spin for about 2^28 cycles after a product and oneDNN's OpenMP team for a
                    // while too; let the other pool go idle first, or its spinning threads take a core from this figure.
                    usleep(150_000)
                    let s = BenchClock.measure(runs: o.runs) {
                        x.withUnsafeBufferPointer { xx in
                            y.withUnsafeMutableBufferPointer { yy in
                                for _ in 0..<reps {
                                    if bf16 {
                                        Gemm.linearBF16(x: xx.baseAddress!, rows: rows, weight: wBF16, y: yy.baseAddress!,
                                                        threads: t, threading: threading)
                                    } else {
                                        Gemm.linear(x: xx.baseAddress!, rows: rows, inFeatures: k, weight: w,
                                                    outFeatures: nOut, y: yy.baseAddress!, threads: t)
                                    }
                                }
                            }
                        }
                    }
                    let precision = !bf16 ? "" : wBF16.path == .none ? " bf16→fp32" : " bf16"
                        + (threading == .rowBlocks ? " row-blocks" : "")
                    var r = Benchmark.result(.gemm, "\(name)\(precision) \(shape)", threads: t, length: nil,
                                             unit: "GFLOP/s", seconds: s.wall) { flop * Double(reps) / $0 / 1e9 }
                    r.extra["m"] = Double(rows); r.extra["k"] = Double(k); r.extra["n"] = Double(nOut)
                    r.extra["bf16"] = bf16 && wBF16.path != .none ? 1 : 0
                    if t == 1 {   // one thread: its CPU time is not inflated by other processes on a shared machine
                        r.extra["gflops_thread_cpu"] = BenchClock.median(s.cpu.map { flop * Double(reps) / $0 / 1e9 })
                    }
                    report(r)
                }
            }
        }
        // The per-call rounding of x to bf16 that the bf16 rows include, alone: one thread.
        let count = rows * dInner
        var x = [Float](repeating: 0, count: count), xb = [UInt16](repeating: 0, count: count)
        rng.fillUniform(&x, low: -1, high: 1)
        let reps = 50
        let s = BenchClock.measure(runs: o.runs) {
            xb.withUnsafeMutableBufferPointer { d in
                for _ in 0..<reps { BFloat16.convertRows(x, lds: dInner, rows: rows, columns: dInner, to: d.baseAddress!) }
            }
        }
        report(Benchmark.result(.gemm, "x→bf16 rounding (\(rows)×\(dInner)) ns/value", threads: 1, length: nil,
                                unit: "ns", seconds: s.cpu) { $0 * 1e9 / Double(reps * count) })
    }
}
