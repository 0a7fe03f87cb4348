import Foundation

extension SelectiveScanBackward {
    /// Faster version, same contract and result as `backwardReference` up to fp32 rounding: 16 channels at a
    /// time in SIMD16 lanes (the channels of one time step are contiguous), a polynomial exp, and the state
    /// sums over time kept in fp32 per chunk and added into Float64 once per chunk. Falls back to the
    /// reference when d is not a multiple of 16.
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
        func isReset(_ t: Int) -> Bool { resetBefore.map { $0[t] != 0 } ?? false }
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
        }

        for t in 0..<length { for s in 0..<n { dB[t * ldG + s] = 0; dC[t * ldG + s] = 0 } }
        // Per-block scratch: Δ (length, 16); checkpoints (chunks, n) and replayed states (chunk + 1, n) of vectors.
        let dtBuf = UnsafeMutablePointer<V>.allocate(capacity: length)
        let checkpoints = UnsafeMutablePointer<V>.allocate(capacity: chunks * n)
        let states = UnsafeMutablePointer<V>.allocate(capacity: (chunk + 1) * n)
        let carry = UnsafeMutablePointer<V>.allocate(capacity: n)
        let Av = UnsafeMutablePointer<V>.allocate(capacity: n)
        let accA = UnsafeMutablePointer<V>.allocate(capacity: n)
        defer { [dtBuf, checkpoints, states, carry, Av, accA].forEach { $0.deallocate() } }

        for c0 in stride(from: 0, to: d, by: 16) {
            for s in 0..<n { Av[s] = V((0..<16).map { A[(c0 + $0) * n + s] }) }
            let bias = deltaBias.map { load($0 + c0) } ?? V(repeating: 0)
            let Dv = D.map { load($0 + c0) }
            var accA64 = [Double](repeating: 0, count: 16 * n)
            var accD = V(repeating: 0), accBias = V(repeating: 0)

            // Pass 1: Δ for every step (scalar softplus: once per (t, c), not per state), states at chunk starts.
            for t in 0..<length {
                let v = load(delta + t * d + c0) + bias
                var dt = V()
                for l in 0..<16 { dt[l] = Activation.softplus(v[l]) }
                dtBuf[t] = dt
            }
            for s in 0..<n {
                carry[s] = initialState.map { p in V((0..<16).map { p[(c0 + $0) * n + s] }) } ?? V(repeating: 0)
            }
            for k in 0..<chunks {
                (checkpoints + k * n).update(from: carry, count: n)
                for t in (k * chunk)..<min(length, (k + 1) * chunk) {
                    let dt = dtBuf[t], dtx = dt * load(u + t * d + c0)
                    let reset = isReset(t)
                    for s in 0..<n {
                        let hp = reset ? V(repeating: 0) : carry[s]
                        carry[s] = (vexp(dt * Av[s]) * hp).addingProduct(dtx, B[t * ldBC + s])
                    }
                }
            }

            // Pass 2: chunks in reverse, replay then walk back; `carry` now holds g·a of the following step.
            for s in 0..<n { carry[s] = V(repeating: 0) }
            for k in stride(from: chunks - 1, through: 0, by: -1) {
                let t0 = k * chunk, t1 = min(length, t0 + chunk)
                states.update(from: checkpoints + k * n, count: n)
                for t in t0..<t1 {
                    let prev = states + (t - t0) * n, cur = prev + n
                    let dt = dtBuf[t], dtx = dt * load(u + t * d + c0)
                    let reset = isReset(t)
                    for s in 0..<n {
                        cur[s] = (vexp(dt * Av[s]) * (reset ? V(repeating: 0) : prev[s])).addingProduct(dtx, B[t * ldBC + s])
                    }
                }
                for s in 0..<n { accA[s] = V(repeating: 0) }
                for t in stride(from: t1 - 1, through: t0, by: -1) {
                    let prev = states + (t - t0) * n, cur = prev + n
                    let reset = isReset(t)
                    let i = t * d + c0
                    let x = load(u + i), dt = dtBuf[t]
                    var yHat = Dv.map { $0 * x } ?? V(repeating: 0)
                    for s in 0..<n { yHat = yHat.addingProduct(cur[s], C[t * ldBC + s]) }
                    var dy = load(dOut + i)
                    if let z, let dz {
                        let zv = load(z + i)
                        let sg = 1 / (1 + vexp(-zv))
                        store(dy * yHat * sg * (1 + zv * (1 - sg)), dz + i)
                        dy *= zv * sg
                    }
                    var dx = V(repeating: 0)
                    if let Dv { accD = accD.addingProduct(dy, x); dx = dy * Dv }
                    var dDt = V(repeating: 0)
                    let dtx = dt * x
                    for s in 0..<n {
                        let a = vexp(dt * Av[s])
                        let hp = reset ? V(repeating: 0) : prev[s]
                        let b = B[t * ldBC + s]
                        dC[t * ldG + s] += (dy * cur[s]).sum()
                        let g = carry[s].addingProduct(dy, C[t * ldBC + s])
                        let gDa = g * hp * a
                        accA[s] = accA[s].addingProduct(gDa, dt)
                        dDt = dDt.addingProduct(gDa, Av[s]).addingProduct(g, b * x)
                        dB[t * ldG + s] += (g * dtx).sum()
                        dx = dx.addingProduct(g, dt * b)
                        carry[s] = reset ? V(repeating: 0) : g * a
                    }
                    store(dx, du + i)
                    // softplus′(v) = σ(v), and 1 above the threshold where softplus is the identity.
                    let v = load(delta + i) + bias
                    var sp = 1 / (1 + vexp(-v))
                    sp.replace(with: V(repeating: 1), where: v .> 20)
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

    /// eˣ for 16 lanes: x = k·ln2 + r with |r| ≤ ln2/2 (ln2 split in two parts so k·ln2 is exact; k is
    /// rounded by adding 1.5·2²³), eʳ by its degree-6 Taylor polynomial (truncation ≤ 1.3e-7 relative), times 2ᵏ built in the exponent bits.
    /// Inputs are clamped to [−87, 88], where the result is a normal fp32 number.
    @inline(__always)
    public static func vexp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let xc = pointwiseMax(pointwiseMin(x, SIMD16(repeating: 88)), SIMD16(repeating: -87))
        // Adding 1.5·2²³ rounds to an integer and leaves it in the low mantissa bits.
        let shifted = SIMD16<Float>(repeating: 12_582_912).addingProduct(xc, 1.442_695_04)
        let k = shifted - 12_582_912
        let r = xc.addingProduct(k, -0.693_145_751_953_125).addingProduct(k, -1.428_606_820_286_227e-6)
        var p = SIMD16<Float>(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let bits = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: SIMD16<Float>.self)
    }
}
