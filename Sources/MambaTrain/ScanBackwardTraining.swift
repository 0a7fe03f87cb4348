import Foundation
import MambaKernels

/// The selective-scan backward used by training: the contract and the math of `SelectiveScanBackward.backward`
/// (no initial state, packed sequences split by `resetBefore`), restructured for speed:
///   - the exp clamps are lane selects inside a `@_transparent` helper (a generic `pointwiseMin/Max` is left
///     as an out-of-line call per vector, which took a third of all training time);
///   - the replay of each chunk keeps a = exp(Δ·A) next to h, so the backward walk computes no exp of its own
///     (two exps per (t, c, s) instead of three).
/// Needs d % 16 == 0 (callers fall back to the kernel's own version otherwise).
enum ScanBackwardTraining {
    typealias V = SIMD16<Float>

    @_transparent static func vexp(_ x: V) -> V {
        var xc = x
        xc.replace(with: V(repeating: 88), where: xc .> 88)
        xc.replace(with: V(repeating: -87), where: xc .< -87)
        let shifted = V(repeating: 12_582_912).addingProduct(xc, 1.442_695_04)
        let k = shifted - 12_582_912
        let r = xc.addingProduct(k, -0.693_145_751_953_125).addingProduct(k, -1.428_606_820_286_227e-6)
        var p = V(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let bits = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: V.self)
    }

    @_transparent static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @_transparent static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    static func backward(u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
                         B: UnsafePointer<Float>, C: UnsafePointer<Float>, ldBC: Int, D: UnsafePointer<Float>,
                         z: UnsafePointer<Float>, deltaBias: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                         du: UnsafeMutablePointer<Float>, ddelta: UnsafeMutablePointer<Float>,
                         dA: UnsafeMutablePointer<Float>, dB: UnsafeMutablePointer<Float>, dC: UnsafeMutablePointer<Float>,
                         ldGradBC ldG: Int, dD: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>,
                         dDeltaBias: UnsafeMutablePointer<Float>, length: Int, d: Int, n: Int,
                         resetBefore: UnsafePointer<UInt8>?, chunk: Int = 64) {
        precondition(d % 16 == 0 && length > 0)
        let chunks = (length + chunk - 1) / chunk
        for t in 0..<length { for s in 0..<n { dB[t * ldG + s] = 0; dC[t * ldG + s] = 0 } }
        let dtBuf = UnsafeMutablePointer<V>.allocate(capacity: length)
        let checkpoints = UnsafeMutablePointer<V>.allocate(capacity: chunks * n)
        let states = UnsafeMutablePointer<V>.allocate(capacity: (chunk + 1) * n)   // h before / after each step
        let decay = UnsafeMutablePointer<V>.allocate(capacity: chunk * n)          // a = exp(Δ·A) of each step
        let carry = UnsafeMutablePointer<V>.allocate(capacity: n)
        let Av = UnsafeMutablePointer<V>.allocate(capacity: n)
        let accA = UnsafeMutablePointer<V>.allocate(capacity: n)
        defer { [dtBuf, checkpoints, states, decay, carry, Av, accA].forEach { $0.deallocate() } }
        let zero = V(repeating: 0)
        var accA64 = [Double](repeating: 0, count: 16 * n)

        for c0 in stride(from: 0, to: d, by: 16) {
            for s in 0..<n { for l in 0..<16 { Av[s][l] = A[(c0 + l) * n + s] } }
            let bias = load(deltaBias + c0), Dv = load(D + c0)
            for i in accA64.indices { accA64[i] = 0 }
            var accD = zero, accBias = zero

            // Pass 1: Δ = softplus(delta + bias) per step, and the state at every chunk start.
            for t in 0..<length {
                let v = load(delta + t * d + c0) + bias
                var dt = V()
                for l in 0..<16 { dt[l] = Activation.softplus(v[l]) }
                dtBuf[t] = dt
            }
            for s in 0..<n { carry[s] = zero }
            for k in 0..<chunks {
                (checkpoints + k * n).update(from: carry, count: n)
                for t in (k * chunk)..<min(length, (k + 1) * chunk) {
                    let dt = dtBuf[t], dtx = dt * load(u + t * d + c0)
                    let keep: Float = resetBefore.map { $0[t] != 0 } ?? false ? 0 : 1
                    for s in 0..<n {
                        carry[s] = (vexp(dt * Av[s]) * carry[s] * keep).addingProduct(dtx, B[t * ldBC + s])
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
                    let keep: Float = resetBefore.map { $0[t] != 0 } ?? false ? 0 : 1
                    for s in 0..<n {
                        let e = vexp(dt * Av[s])
                        a[s] = e
                        cur[s] = (e * prev[s] * keep).addingProduct(dtx, B[t * ldBC + s])
                    }
                }
                for s in 0..<n { accA[s] = zero }
                for t in stride(from: t1 - 1, through: t0, by: -1) {
                    let prev = states + (t - t0) * n, cur = prev + n, a = decay + (t - t0) * n
                    let reset = resetBefore.map { $0[t] != 0 } ?? false
                    let keep: Float = reset ? 0 : 1
                    let i = t * d + c0
                    let x = load(u + i), dt = dtBuf[t]
                    var yHat = Dv * x
                    for s in 0..<n { yHat = yHat.addingProduct(cur[s], C[t * ldBC + s]) }
                    let zv = load(z + i)
                    let sg = 1 / (1 + vexp(-zv))
                    var dy = load(dOut + i)
                    store(dy * yHat * sg * (1 + zv * (1 - sg)), dz + i)
                    dy *= zv * sg
                    accD = accD.addingProduct(dy, x)
                    var dx = dy * Dv
                    var dDt = zero
                    let dtx = dt * x
                    for s in 0..<n {
                        let b = B[t * ldBC + s]
                        dC[t * ldG + s] += (dy * cur[s]).sum()
                        let g = carry[s].addingProduct(dy, C[t * ldBC + s])
                        let gDa = g * prev[s] * a[s] * keep     // h[t−1] counts as 0 at a sequence start
                        accA[s] = accA[s].addingProduct(gDa, dt)
                        dDt = dDt.addingProduct(gDa, Av[s]).addingProduct(g, b * x)
                        dB[t * ldG + s] += (g * dtx).sum()
                        dx = dx.addingProduct(g, dt * b)
                        carry[s] = reset ? zero : g * a[s]
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
                dD[c0 + l] += accD[l]
                dDeltaBias[c0 + l] += accBias[l]
            }
        }
    }
}
