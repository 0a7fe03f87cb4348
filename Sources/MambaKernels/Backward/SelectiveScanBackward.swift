import Foundation

/// Backward pass of `SelectiveScan` (same shapes and conventions as the forward, time-major).
///
/// Forward, per channel c and state s (Δ = softplus(delta + deltaBias), x = u):
///   a[t]    = exp(Δ[t]·A[c,s])
///   h[t]    = a[t]·h[t−1] + Δ[t]·B[t,s]·x[t]               (h[t−1] = 0 where resetBefore[t] != 0)
///   ŷ[t]    = Σₛ h[t]·C[t,s] + D[c]·x[t]
///   out[t]  = ŷ[t]·SiLU(z[t])
/// Backward, reverse time, with the carried state gradient g[t] = ∂loss/∂h[t]:
///   dŷ      = dout·SiLU(z),   dz = dout·ŷ·SiLU′(z)
///   g[t]    = dŷ·C[t,s] + a[t+1]·g[t+1]                   (no carry across a reset at t+1)
///   dC[t,s] += dŷ·h[t],  dB[t,s] += g·Δ·x,  du += dŷ·D + Σₛ g·Δ·B
///   dΔ      = Σₛ g·(h[t−1]·a·A + B·x),  dA += g·h[t−1]·a·Δ,  ddelta = dΔ·softplus′
///
/// The states are not stored by the forward: this pass reruns the recurrence, keeping one checkpoint of h
/// every `chunk` steps, then replays each chunk (chunk·d·n floats) while walking it backwards. Memory is
/// (⌈L/chunk⌉ + chunk + 1)·d·n floats instead of L·d·n.
public enum SelectiveScanBackward {
    /// Steps between state checkpoints.
    public static let defaultChunk = 64

    /// Plain reference version.
    ///
    /// Inputs (as `SelectiveScan.forwardReference`): u, delta, z, dOut: (length, d); B, C: (length, n) with row
    /// stride `ldBC`; A: (d, n); D, deltaBias: (d); initialState: (d, n) or nil (zeros).
    /// Outputs, overwritten: du, ddelta, dz: (length, d); dB, dC: (length, n) with row stride `ldGradBC`
    /// (defaults to `ldBC`; only the n columns are written, so both can point into one x_proj gradient
    /// buffer); dInitialState: (d, n).
    /// Outputs, accumulated (+=, so calls over several sequences sum): dA: (d, n); dD, dDeltaBias: (d).
    /// Pass nil for an output that is not needed (dz is required when z is given).
    public static func backwardReference(
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
        precondition(chunk > 0)
        precondition(z == nil || dz != nil, "dz is required when z is given")
        let ldG = ldGradBC ?? ldBC
        let dn = d * n
        if length == 0 {
            if let dInitialState { dInitialState.update(repeating: 0, count: dn) }
            return
        }
        let chunks = (length + chunk - 1) / chunk
        func isReset(_ t: Int) -> Bool { resetBefore.map { $0[t] != 0 } ?? false }

        // Pass 1: run the recurrence, keeping h (before the chunk's first step) at each chunk start.
        var checkpoints = [Float](repeating: 0, count: chunks * dn)       // (chunks, d, n)
        var h = [Float](repeating: 0, count: dn)                          // (d, n)
        if let initialState { h.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: initialState, count: dn) } }
        for k in 0..<chunks {
            checkpoints.withUnsafeMutableBufferPointer { cp in
                h.withUnsafeBufferPointer { (cp.baseAddress! + k * dn).update(from: $0.baseAddress!, count: dn) }
            }
            for t in (k * chunk)..<min(length, (k + 1) * chunk) {
                if isReset(t) { for i in 0..<dn { h[i] = 0 } }
                for c in 0..<d {
                    let dt = Activation.softplus(delta[t * d + c] + (deltaBias?[c] ?? 0))
                    let x = u[t * d + c]
                    for s in 0..<n {
                        h[c * n + s] = Foundation.exp(dt * A[c * n + s]) * h[c * n + s] + dt * B[t * ldBC + s] * x
                    }
                }
            }
        }

        // Sums over time in Double, added to the caller's accumulators at the end.
        var accA = [Double](repeating: 0, count: dn)
        var accD = [Double](repeating: 0, count: d)
        var accBias = [Double](repeating: 0, count: d)
        var carry = [Float](repeating: 0, count: dn)                     // g[t+1]·a[t+1], (d, n)
        var states = [Float](repeating: 0, count: (chunk + 1) * dn)      // states[i] = h before step t0+i

        // Pass 2: chunks in reverse; replay each chunk's states, then walk it backwards.
        for k in stride(from: chunks - 1, through: 0, by: -1) {
            let t0 = k * chunk, t1 = min(length, t0 + chunk)
            for i in 0..<dn { states[i] = checkpoints[k * dn + i] }
            for t in t0..<t1 {
                let prev = (t - t0) * dn, cur = prev + dn
                let reset = isReset(t)
                for c in 0..<d {
                    let dt = Activation.softplus(delta[t * d + c] + (deltaBias?[c] ?? 0))
                    let x = u[t * d + c]
                    for s in 0..<n {
                        let hp = reset ? 0 : states[prev + c * n + s]
                        states[cur + c * n + s] = Foundation.exp(dt * A[c * n + s]) * hp + dt * B[t * ldBC + s] * x
                    }
                }
            }
            for t in stride(from: t1 - 1, through: t0, by: -1) {
                let prev = (t - t0) * dn, cur = prev + dn
                let reset = isReset(t)
                for s in 0..<n { dB[t * ldG + s] = 0; dC[t * ldG + s] = 0 }
                for c in 0..<d {
                    let i = t * d + c
                    let v = delta[i] + (deltaBias?[c] ?? 0)
                    let dt = Activation.softplus(v)
                    let x = u[i]
                    // ŷ is needed for the gate's gradient: recompute it from the replayed state.
                    var yHat: Float = 0
                    for s in 0..<n { yHat += states[cur + c * n + s] * C[t * ldBC + s] }
                    if let D { yHat += D[c] * x }
                    var dy = dOut[i]
                    if let z, let dz {
                        dz[i] = dy * yHat * ActivationBackward.siluDerivative(z[i])
                        dy *= Activation.silu(z[i])
                    }
                    var dx: Float = 0
                    if let D {
                        accD[c] += Double(dy * x)
                        dx = dy * D[c]
                    }
                    var dDt: Float = 0
                    for s in 0..<n {
                        let j = c * n + s
                        let a = Foundation.exp(dt * A[j])
                        let hp = reset ? 0 : states[prev + j]
                        let b = B[t * ldBC + s]
                        dC[t * ldG + s] += dy * states[cur + j]
                        let g = carry[j] + dy * C[t * ldBC + s]
                        let gDa = g * hp * a                       // ∂loss/∂(Δ·A)
                        accA[j] += Double(gDa * dt)
                        dDt += gDa * A[j] + g * b * x
                        dB[t * ldG + s] += g * dt * x
                        dx += g * dt * b
                        carry[j] = reset ? 0 : g * a               // nothing flows into a zeroed state
                    }
                    du[i] = dx
                    let dv = dDt * ActivationBackward.softplusDerivative(v)
                    ddelta[i] = dv
                    accBias[c] += Double(dv)
                }
            }
        }

        for j in 0..<dn { dA[j] += Float(accA[j]) }
        if let dD { for c in 0..<d { dD[c] += Float(accD[c]) } }
        if let dDeltaBias { for c in 0..<d { dDeltaBias[c] += Float(accBias[c]) } }
        if let dInitialState { for j in 0..<dn { dInitialState[j] = carry[j] } }
    }
}
