import Foundation
#if !KERNELS_AVX512
internal import MambaKernelsAVX512
#endif

/// Mamba-1 selective scan (mamba_ssm `selective_scan_ref` with delta_softplus = true), time-major.
///
/// Shapes (row-major): u, delta, z, y: (length, d); B, C: (length, n) rows with stride `ldBC`
/// (so they can be read in place from the x_proj output); A: (d, n), negative; D, deltaBias: (d);
/// state: (d, n), read as h₋₁ and overwritten with the last state.
/// Packed batches: where `resetBefore[t] != 0` a new sequence starts at t and the state is zeroed first.
/// Row t of z is at `z + t·ldz` and row t of y at `y + t·ldy` (both default to d; negative strides walk a buffer
/// backwards, so a reversed direction reads and writes the forward buffers in place). `accumulate: true` adds
/// the result to y instead of storing it.
///
///   Δ[t,d] = softplus(delta[t,d] + deltaBias[d])
///   h[d,n] = exp(Δ·A[d,n]) · h[d,n] + Δ · B[t,n] · u[t,d]
///   y[t,d] = (Σₙ h[d,n] · C[t,n] + D[d] · u[t,d]) · SiLU(z[t,d])      (no gate when z is nil)
public enum SelectiveScan {
    /// Plain reference version: the definition the fast kernel is tested against.
    public static func forwardReference(u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                                        A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                                        ldBC: Int, D: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
                                        deltaBias: UnsafePointer<Float>?, state: UnsafeMutablePointer<Float>,
                                        y: UnsafeMutablePointer<Float>, length: Int, d: Int, n: Int,
                                        resetBefore: UnsafePointer<UInt8>? = nil, ldz: Int? = nil, ldy: Int? = nil,
                                        accumulate: Bool = false) {
        let lz = ldz ?? d, ly = ldy ?? d
        for t in 0..<length {
            if let resetBefore, resetBefore[t] != 0 { state.update(repeating: 0, count: d * n) }
            for c in 0..<d {
                let i = t * d + c
                let dt = Activation.softplus(delta[i] + (deltaBias?[c] ?? 0))
                let x = u[i]
                var acc: Float = 0
                for s in 0..<n {
                    let h = Foundation.exp(dt * A[c * n + s]) * state[c * n + s] + dt * B[t * ldBC + s] * x
                    state[c * n + s] = h
                    acc += h * C[t * ldBC + s]
                }
                if let D { acc += D[c] * x }
                if let z { acc *= Activation.silu(z[t * lz + c]) }
                if accumulate { y[t * ly + c] += acc } else { y[t * ly + c] = acc }
            }
        }
    }

    /// Fast version (same contract as `forwardReference`): SIMD16 across channels, time-tiled,
    /// channel blocks split over `threads` threads. Differences from the reference are float32 rounding
    /// plus the polynomial exp/softplus/SiLU of `FastMath` (≈1e-6 relative on y).
    public static func forward(u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                               A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                               ldBC: Int, D: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
                               deltaBias: UnsafePointer<Float>?, state: UnsafeMutablePointer<Float>,
                               y: UnsafeMutablePointer<Float>, length: Int, d: Int, n: Int,
                               resetBefore: UnsafePointer<UInt8>? = nil, ldz: Int? = nil, ldy: Int? = nil,
                               accumulate: Bool = false, threads: Int = 1,
                               scratch: UnsafeMutableRawBufferPointer? = nil) {
        #if !KERNELS_AVX512
        if KernelISA.useAVX512 {
            MambaKernelsAVX512.SelectiveScan.forward(
                u: u, delta: delta, A: A, B: B, C: C, ldBC: ldBC, D: D, z: z, deltaBias: deltaBias, state: state, y: y,
                length: length, d: d, n: n, resetBefore: resetBefore, ldz: ldz, ldy: ldy, accumulate: accumulate,
                threads: threads, scratch: scratch)
            return
        }
        #endif
        if length <= 0 || d <= 0 || n <= 0 {
            if n <= 0, length > 0, d > 0 {  // no state: y is the D skip (and gate) alone
                forwardReference(u: u, delta: delta, A: A, B: B, C: C, ldBC: ldBC, D: D, z: z, deltaBias: deltaBias,
                                 state: state, y: y, length: length, d: d, n: n, resetBefore: resetBefore,
                                 ldz: ldz, ldy: ldy, accumulate: accumulate)
            }
            return
        }
        let args = ScanArgs(u: u, delta: delta, A: A, B: B, C: C, ldBC: ldBC, D: D, z: z, deltaBias: deltaBias,
                            state: state, y: y, length: length, d: d, n: n, resetBefore: resetBefore,
                            ldz: ldz ?? d, ldy: ldy ?? d, accumulate: accumulate)
        let blocks = (d + 15) / 16
        // Below ~16K (t·d) positions (≈0.1 ms of work) a thread hand-off costs more than it saves.
        let parts = length * d < 16_384 ? 1 : Swift.max(1, Swift.min(threads, blocks))
        let bytes = scratchBytes(d: d, n: n, threads: parts)
        if let scratch {
            precondition(scratch.count >= bytes && Int(bitPattern: scratch.baseAddress) % 64 == 0,
                         "scan scratch needs \(bytes) bytes, 64-byte aligned")
        }
        let base = scratch?.baseAddress ?? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { if scratch == nil { base.deallocate() } }
        nonisolated(unsafe) let vectors = base.bindMemory(to: SIMD16<Float>.self, capacity: bytes / 64)
        Parallel.run(parts) { p in
            let first = p * blocks / parts
            scanBlocks(args, first..<((p + 1) * blocks / parts), scratch: vectors + scratchOffset(blocks: first, part: p, n: n))
        }
    }

    /// Where thread `part`'s scratch (in 64-byte vectors) starts when the threads before it hold channel blocks
    /// 0..<blocks: each block takes h and A2 (n each), bias, D, A2 lo/hi and four tile rows (see `scanBlocks`),
    /// each thread one more tile row.
    static func scratchOffset(blocks: Int, part: Int, n: Int) -> Int {
        blocks * (2 * n + 4 + 4 * tileRows) + part * tileRows
    }

    /// Bytes of `scratch` that `forward` needs for d channels and n states on up to `threads` threads. A caller
    /// that scans many times keeps one such buffer (64-byte aligned) and passes it in, so that the scan allocates
    /// nothing. Allocated per call (330 KiB at d = 512, many times per chunk on each worker thread), the blocks
    /// fragmented glibc's heap: depending on thread timing a freed block was not reused, and a long input's heap
    /// grew by about one block per chunk.
    public static func scratchBytes(d: Int, n: Int, threads: Int) -> Int {
        let blocks = (d + 15) / 16, parts = Swift.max(1, Swift.min(threads, blocks))
        return scratchOffset(blocks: blocks, part: parts, n: n) * MemoryLayout<SIMD16<Float>>.stride
    }

    /// Rows per time tile. Each tile runs in three passes over the thread's channel blocks; the tile's
    /// scratch (4 vectors per block and row: 256 KiB for 32 blocks) stays in L2 between the passes.
    /// 16, 32 and 64 measured the same to within noise.
    static let tileRows = 32

    struct ScanArgs {
        let u: UnsafePointer<Float>, delta: UnsafePointer<Float>
        let A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>
        let ldBC: Int
        let D: UnsafePointer<Float>?, z: UnsafePointer<Float>?, deltaBias: UnsafePointer<Float>?
        let state: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
        let length: Int, d: Int, n: Int
        let resetBefore: UnsafePointer<UInt8>?
        let ldz: Int, ldy: Int, accumulate: Bool
    }

    /// Scans channel blocks `blocks` (16 channels each; the last may be partial) over the whole length.
    static func scanBlocks(_ a: ScanArgs, _ blocks: Range<Int>, scratch hAll: UnsafeMutablePointer<SIMD16<Float>>) {
        typealias V = SIMD16<Float>
        let nb = blocks.count, T = tileRows, d = a.d, n = a.n
        if nb == 0 { return }
        let cBegin = blocks.lowerBound * 16, cEnd = Swift.min(d, blocks.upperBound * 16)
        // Per-thread scratch (see `scratchOffset`), one 64-byte vector per entry:
        //   h (nb, n): the states, lane = channel;  A2 (nb, n): A·log2(e), so exp(Δ·A) = 2^(Δ·A2)
        //   bias, D (nb);  A2 lo/hi (nb): per lane, the most negative and most positive A2 over the states
        //   dt, dt·u, gate, out (nb, T): per-row values of the tile; `out` first holds D·u·gate, then y
        //   sum (T): Σₙ h·C of the block being scanned
        let aAll = hAll + nb * n, biasAll = aAll + nb * n, dAll = biasAll + nb
        let loAll = dAll + nb, hiAll = loAll + nb
        let dtAll = hiAll + nb, dtuAll = dtAll + nb * T, gAll = dtuAll + nb * T, outAll = gAll + nb * T
        let sum = outAll + nb * T

        let log2e: Float = 1.4426950408889634
        for bi in 0..<nb {
            let c0 = cBegin + bi * 16, lanes = Swift.min(16, cEnd - c0)
            for s in 0..<n {
                var h = V(), av = V()  // padding lanes: A = 0, h = 0, u = 0 keep h at 0
                for l in 0..<lanes {
                    h[l] = a.state[(c0 + l) * n + s]
                    av[l] = a.A[(c0 + l) * n + s] * log2e
                }
                hAll[bi * n + s] = h
                aAll[bi * n + s] = av
            }
            biasAll[bi] = a.deltaBias.map { FastMath.load($0 + c0, lanes: lanes) } ?? V()
            dAll[bi] = a.D.map { FastMath.load($0 + c0, lanes: lanes) } ?? V()
            var lo = V(), hi = V()
            for s in 0..<n { lo = FastMath.min(lo, aAll[bi * n + s]); hi = FastMath.max(hi, aAll[bi * n + s]) }
            loAll[bi] = lo
            hiAll[bi] = hi
        }

        var t0 = 0
        while t0 < a.length {
            let rows = Swift.min(T, a.length - t0)
            // Pass 1, row by row across the thread's channels: everything that does not depend on h.
            // Reading the inputs in address order matters: walking one 16-channel column down the rows
            // (a d·4-byte stride) defeats the hardware prefetchers and stalls on DRAM.
            for r in 0..<rows {
                let row = (t0 + r) * d
                for bi in 0..<nb {
                    let c0 = cBegin + bi * 16, lanes = Swift.min(16, cEnd - c0), i = row + c0
                    let uu = FastMath.load(a.u + i, lanes: lanes)
                    let dt = FastMath.softplus(FastMath.load(a.delta + i, lanes: lanes) + biasAll[bi])
                    var g = V(repeating: 1)
                    if let z = a.z { g = FastMath.silu(FastMath.load(z + (t0 + r) * a.ldz + c0, lanes: lanes)) }
                    let j = bi * T + r
                    dtAll[j] = dt
                    dtuAll[j] = dt * uu
                    gAll[j] = g
                    outAll[j] = dAll[bi] * uu * g
                }
            }
            // Pass 2, block by block: the recurrence, state-major inside the tile. A group of states keeps
            // its h in registers while it walks the tile's rows, and the per-row sums Σₙ h·C collect in
            // `sum`. The exps do not depend on h, so only one FMA per (row, state) is on a dependency chain.
            let bTile = a.B + t0 * a.ldBC, cTile = a.C + t0 * a.ldBC
            let reset = a.resetBefore.map { $0 + t0 }
            for bi in 0..<nb {
                let hp = hAll + bi * n, ap = aAll + bi * n
                let dt = dtAll + bi * T, dtu = dtuAll + bi * T
                for r in 0..<rows { sum[r] = V() }
                // Which exp the tile needs: Δ·A2 ≥ −125 everywhere (a tile of slow decays) takes the plain fused
                // exp; below that, decays under 2^−125.5 are floored (pretrained and fine-tuned models have
                // |A| in the thousands, so most of their tiles do); above 127 (A > 0, against the contract) the
                // rare fully clamped path. The three give the same bits wherever round(Δ·A2) ≥ −125, so a row's
                // result does not depend on the rows it was tiled with. The margin of 1 covers the rounding of
                // these products.
                var lo = V(), hi = V()
                for r in 0..<rows {
                    lo = FastMath.min(lo, dt[r] * loAll[bi])
                    hi = FastMath.max(hi, dt[r] * hiAll[bi])
                }
                let range: DecayRange = any(hi .> 127) ? .clamped : any(lo .< -125) ? .floored : .plain
                var s = 0
                while s + 4 <= n {
                    switch range {
                    case .plain: scanRows4(hp + s, ap + s, bTile + s, cTile + s, a.ldBC, reset, rows, dt, dtu, sum, range: .plain)
                    case .floored: scanRows4(hp + s, ap + s, bTile + s, cTile + s, a.ldBC, reset, rows, dt, dtu, sum, range: .floored)
                    case .clamped: scanRows4(hp + s, ap + s, bTile + s, cTile + s, a.ldBC, reset, rows, dt, dtu, sum, range: .clamped)
                    }
                    s += 4
                }
                while s < n {
                    scanRows1(hp + s, ap + s, bTile + s, cTile + s, a.ldBC, reset, rows, dt, dtu, sum, range: range)
                    s += 1
                }
                let g = gAll + bi * T, out = outAll + bi * T
                for r in 0..<rows { out[r] = out[r].addingProduct(sum[r], g[r]) }
            }
            // Pass 3, row by row again: write y in address order.
            for r in 0..<rows {
                let yRow = a.y + (t0 + r) * a.ldy
                for bi in 0..<nb {
                    let c0 = cBegin + bi * 16, lanes = Swift.min(16, cEnd - c0)
                    var v = outAll[bi * T + r]
                    if a.accumulate { v += FastMath.load(yRow + c0, lanes: lanes) }
                    FastMath.store(v, yRow + c0, lanes: lanes)
                }
            }
            t0 += rows
        }

        for bi in 0..<nb {
            let c0 = cBegin + bi * 16, lanes = Swift.min(16, cEnd - c0)
            for s in 0..<n {
                let h = hAll[bi * n + s]
                for l in 0..<lanes { a.state[(c0 + l) * n + s] = h[l] }
            }
        }
    }

    /// How far Δ·A2 reaches within a tile (see `scanBlocks`).
    enum DecayRange { case plain, floored, clamped }

    /// exp(Δ·A) = 2^(Δ·A2), the product fused into the range reduction. `.floored` limits decays below 2^−125.5
    /// to 2^−125.5 (to float32 precision the same, and every value stays normal, so the FMAs stay off slow
    /// microcode paths); `.clamped` (rare: A > 0 against the contract) also limits Δ·A2 above 128 to 128.
    /// Lanes with round(Δ·A2) in [−125, 127] get the same bits on every path.
    @_transparent
    static func decay(_ dt: SIMD16<Float>, _ a2: SIMD16<Float>, range: DecayRange) -> SIMD16<Float> {
        switch range {
        case .plain: return FastMath.exp2Product(dt, a2)
        case .floored: return FastMath.exp2ProductFloored(dt, a2)
        case .clamped:
            let p = dt * a2, hi = SIMD16<Float>(repeating: 128)
            return FastMath.exp2ProductFloored(dt, a2)
                .replacing(with: FastMath.exp2Unclamped(FastMath.min(p, hi)), where: p .> hi)
        }
    }

    /// Four states of one channel block over `rows` rows: h ← e^{ΔA}·h + Δu·B[t,s]; y[r] += Σ h·C[t,s].
    @_transparent  // inlined at each call, so `range` is a constant there (@inline(__always) was not honoured)
    static func scanRows4(_ hp: UnsafeMutablePointer<SIMD16<Float>>, _ ap: UnsafeMutablePointer<SIMD16<Float>>,
                          _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>, _ ld: Int,
                          _ reset: UnsafePointer<UInt8>?, _ rows: Int,
                          _ dtBuf: UnsafeMutablePointer<SIMD16<Float>>, _ dtuBuf: UnsafeMutablePointer<SIMD16<Float>>,
                          _ yBuf: UnsafeMutablePointer<SIMD16<Float>>, range: DecayRange) {
        var h0 = hp[0], h1 = hp[1], h2 = hp[2], h3 = hp[3]
        let a0 = ap[0], a1 = ap[1], a2 = ap[2], a3 = ap[3]
        var b = b, c = c
        for r in 0..<rows {
            if let reset, reset[r] != 0 { h0 = .zero; h1 = .zero; h2 = .zero; h3 = .zero }
            let dt = dtBuf[r], dtu = dtuBuf[r]
            h0 = (dtu * b[0]).addingProduct(h0, decay(dt, a0, range: range))
            h1 = (dtu * b[1]).addingProduct(h1, decay(dt, a1, range: range))
            h2 = (dtu * b[2]).addingProduct(h2, decay(dt, a2, range: range))
            h3 = (dtu * b[3]).addingProduct(h3, decay(dt, a3, range: range))
            var y = yBuf[r].addingProduct(h0, c[0])
            y = y.addingProduct(h1, c[1])
            y = y.addingProduct(h2, c[2])
            yBuf[r] = y.addingProduct(h3, c[3])
            b += ld; c += ld
        }
        hp[0] = h0; hp[1] = h1; hp[2] = h2; hp[3] = h3
    }

    /// One state (for n not a multiple of 4).
    @_transparent
    static func scanRows1(_ hp: UnsafeMutablePointer<SIMD16<Float>>, _ ap: UnsafeMutablePointer<SIMD16<Float>>,
                          _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>, _ ld: Int,
                          _ reset: UnsafePointer<UInt8>?, _ rows: Int,
                          _ dtBuf: UnsafeMutablePointer<SIMD16<Float>>, _ dtuBuf: UnsafeMutablePointer<SIMD16<Float>>,
                          _ yBuf: UnsafeMutablePointer<SIMD16<Float>>, range: DecayRange) {
        var h = hp[0]
        let a = ap[0]
        for r in 0..<rows {
            if let reset, reset[r] != 0 { h = .zero }
            h = (dtuBuf[r] * b[r * ld]).addingProduct(h, decay(dtBuf[r], a, range: range))
            yBuf[r] = yBuf[r].addingProduct(h, c[r * ld])
        }
        hp[0] = h
    }
}
