import Foundation
#if !KERNELS_AVX512
internal import MambaKernelsAVX512
#endif

extension SelectiveScanBackward {
    /// Fast version, same contract and result as `backwardReference` up to fp32 rounding: 16 channels at a
    /// time in SIMD16 lanes (the channels of one time step are contiguous), with
    ///   - `FastMath.exp`/`FastMath.sigmoid`, inlined into the loops (no scalar libm call, no out-of-line
    ///     generic min/max per vector);
    ///   - the replay of each chunk keeping a = exp(Δ·A) next to h, so the backward walk computes no exp of
    ///     its own (two exps per (t, c, s): one in the checkpoint pass, one in the replay);
    ///   - the state sums over time (dA) kept in fp32 per chunk and added into Float64 once per chunk.
    /// Falls back to the reference when d is not a multiple of 16.
    public static func backward(
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
        A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>, ldBC: Int,
        D: UnsafePointer<Float>?, z: UnsafePointer<Float>?, deltaBias: UnsafePointer<Float>?,
        initialState: UnsafePointer<Float>?, dOut: UnsafePointer<Float>,
        du: UnsafeMutablePointer<Float>, ddelta: UnsafeMutablePointer<Float>,
        dA: UnsafeMutablePointer<Float>, dB: UnsafeMutablePointer<Float>, dC: UnsafeMutablePointer<Float>,
        ldGradBC: Int? = nil,
        dD: UnsafeMutablePointer<Float>?, dz: UnsafeMutablePointer<Float>?,
        dDeltaBias: UnsafeMutablePointer<Float>?, dInitialState: UnsafeMutablePointer<Float>? = nil,
        length: Int, d: Int, n: Int, resetBefore: UnsafePointer<UInt8>? = nil, chunk: Int = defaultChunk
    ) {
        #if !KERNELS_AVX512
        if KernelISA.useAVX512 {
            MambaKernelsAVX512.SelectiveScanBackward.backward(
                u: u, delta: delta, A: A, B: B, C: C, ldBC: ldBC, D: D, z: z, deltaBias: deltaBias,
                initialState: initialState, dOut: dOut, du: du, ddelta: ddelta, dA: dA, dB: dB, dC: dC,
                ldGradBC: ldGradBC, dD: dD, dz: dz, dDeltaBias: dDeltaBias, dInitialState: dInitialState,
                length: length, d: d, n: n, resetBefore: resetBefore, chunk: chunk)
            return
        }
        #endif
        guard d % 16 == 0, length > 0 else {
            return backwardReference(u: u, delta: delta, A: A, B: B, C: C, ldBC: ldBC, D: D, z: z, deltaBias: deltaBias,
                                     initialState: initialState, dOut: dOut, du: du, ddelta: ddelta, dA: dA, dB: dB,
                                     dC: dC, ldGradBC: ldGradBC, dD: dD, dz: dz, dDeltaBias: dDeltaBias,
                                     dInitialState: dInitialState, length: length, d: d, n: n,
                                     resetBefore: resetBefore, chunk: chunk)
        }
        precondition(chunk > 0)
        precondition(z == nil || dz != nil, "dz is required when z is given")
        typealias V = SIMD16<Float>
        let ldG = ldGradBC ?? ldBC
        let chunks = (length + chunk - 1) / chunk
        let zero = V(repeating: 0)
        @inline(__always) func isReset(_ t: Int) -> Bool { resetBefore.map { $0[t] != 0 } ?? false }
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { FastMath.load(p, lanes: 16) }
        @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { FastMath.store(v, p, lanes: 16) }

        for t in 0..<length { for s in 0..<n { dB[t * ldG + s] = 0; dC[t * ldG + s] = 0 } }
        // Per-block scratch, in vectors: Δ (length); checkpoints (chunks, n); replayed states (chunk + 1, n),
        // h before / after each step; decay (chunk, n), a = exp(Δ·A) of each step.
        let dtBuf = UnsafeMutablePointer<V>.allocate(capacity: length)
        let checkpoints = UnsafeMutablePointer<V>.allocate(capacity: chunks * n)
        let states = UnsafeMutablePointer<V>.allocate(capacity: (chunk + 1) * n)
        let decay = UnsafeMutablePointer<V>.allocate(capacity: chunk * n)
        let carry = UnsafeMutablePointer<V>.allocate(capacity: n)
        let Av = UnsafeMutablePointer<V>.allocate(capacity: n)
        let accA = UnsafeMutablePointer<V>.allocate(capacity: n)
        defer { [dtBuf, checkpoints, states, decay, carry, Av, accA].forEach { $0.deallocate() } }
        var accA64 = [Double](repeating: 0, count: 16 * n)

        for c0 in stride(from: 0, to: d, by: 16) {
            for s in 0..<n { for l in 0..<16 { Av[s][l] = A[(c0 + l) * n + s] } }
            let bias = deltaBias.map { load($0 + c0) } ?? zero
            let Dv = D.map { load($0 + c0) }
            for i in accA64.indices { accA64[i] = 0 }
            var accD = zero, accBias = zero

            // Pass 1: Δ for every step (scalar softplus: once per (t, c), not per state), states at chunk starts.
            for t in 0..<length {
                let v = load(delta + t * d + c0) + bias
                var dt = V()
                for l in 0..<16 { dt[l] = Activation.softplus(v[l]) }
                dtBuf[t] = dt
            }
            for s in 0..<n {
                if let h0 = initialState {
                    for l in 0..<16 { carry[s][l] = h0[(c0 + l) * n + s] }
                } else {
                    carry[s] = zero
                }
            }
            for k in 0..<chunks {
                (checkpoints + k * n).update(from: carry, count: n)
                for t in (k * chunk)..<min(length, (k + 1) * chunk) {
                    let dt = dtBuf[t], dtx = dt * load(u + t * d + c0)
                    let keep: Float = isReset(t) ? 0 : 1           // h[t−1] counts as 0 at a sequence start
                    for s in 0..<n {
                        carry[s] = (FastMath.exp(dt * Av[s]) * carry[s] * keep).addingProduct(dtx, B[t * ldBC + s])
                    }
                }
            }

            // Pass 2: chunks in reverse: replay (keeping h and a), then walk back; `carry` holds g·a of the next step.
            for s in 0..<n { carry[s] = zero }
            for k in stride(from: chunks - 1, through: 0, by: -1) {
                let t0 = k * chunk, t1 = min(length, t0 + chunk)
                states.update(from: checkpoints + k * n, count: n)
                for t in t0..<t1 {
                    let prev = states + (t - t0) * n, cur = prev + n, a = decay + (t - t0) * n
                    let dt = dtBuf[t], dtx = dt * load(u + t * d + c0)
                    let keep: Float = isReset(t) ? 0 : 1
                    for s in 0..<n {
                        let e = FastMath.exp(dt * Av[s])
                        a[s] = e
                        cur[s] = (e * prev[s] * keep).addingProduct(dtx, B[t * ldBC + s])
                    }
                }
                for s in 0..<n { accA[s] = zero }
                for t in stride(from: t1 - 1, through: t0, by: -1) {
                    let prev = states + (t - t0) * n, cur = prev + n, a = decay + (t - t0) * n
                    let reset = isReset(t)
                    let keep: Float = reset ? 0 : 1
                    let i = t * d + c0
                    let x = load(u + i), dt = dtBuf[t]
                    var yHat = Dv.map { $0 * x } ?? zero
                    for s in 0..<n { yHat = yHat.addingProduct(cur[s], C[t * ldBC + s]) }
                    var dy = load(dOut + i)
                    if let z, let dz {
                        let zv = load(z + i)
                        let sg = FastMath.sigmoid(zv)
                        store(dy * yHat * sg * (1 + zv * (1 - sg)), dz + i)
                        dy *= zv * sg
                    }
                    var dx = zero
                    if let Dv { accD = accD.addingProduct(dy, x); dx = dy * Dv }
                    var dDt = zero
                    let dtx = dt * x
                    for s in 0..<n {
                        let b = B[t * ldBC + s]
                        dC[t * ldG + s] += (dy * cur[s]).sum()
                        let g = carry[s].addingProduct(dy, C[t * ldBC + s])
                        let gDa = g * prev[s] * a[s] * keep        // ∂loss/∂(Δ·A); h[t−1] is 0 at a reset
                        accA[s] = accA[s].addingProduct(gDa, dt)
                        dDt = dDt.addingProduct(gDa, Av[s]).addingProduct(g, b * x)
                        dB[t * ldG + s] += (g * dtx).sum()
                        dx = dx.addingProduct(g, dt * b)
                        carry[s] = reset ? zero : g * a[s]          // nothing flows into a zeroed state
                    }
                    store(dx, du + i)
                    // softplus′(v) = σ(v), and 1 above the threshold where softplus is the identity.
                    let v = load(delta + i) + bias
                    let sp = FastMath.sigmoid(v).replacing(with: 1, where: v .> 20)
                    let dv = dDt * sp
                    store(dv, ddelta + i)
                    accBias += dv
                }
                for s in 0..<n { for l in 0..<16 { accA64[l * n + s] += Double(accA[s][l]) } }
            }
            for l in 0..<16 {
                for s in 0..<n { dA[(c0 + l) * n + s] += Float(accA64[l * n + s]) }
                dD?[c0 + l] += accD[l]
                dDeltaBias?[c0 + l] += accBias[l]
            }
            if let dInitialState {
                for l in 0..<16 { for s in 0..<n { dInitialState[(c0 + l) * n + s] = carry[s][l] } }
            }
        }
    }
}
