import Foundation

/// Mamba-1 selective scan (mamba_ssm `selective_scan_ref` with delta_softplus = true), time-major.
///
/// Shapes (row-major): u, delta, z, y: (length, d); B, C: (length, n) rows with stride `ldBC`
/// (so they can be read in place from the x_proj output); A: (d, n), negative; D, deltaBias: (d);
/// state: (d, n), read as h₋₁ and overwritten with the last state.
/// Packed batches: where `resetBefore[t] != 0` a new sequence starts at t and the state is zeroed first.
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
                                        resetBefore: UnsafePointer<UInt8>? = nil) {
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
                if let z { acc *= Activation.silu(z[i]) }
                y[i] = acc
            }
        }
    }

    /// Fast version (same contract as `forwardReference`).
    public static func forward(u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                               A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                               ldBC: Int, D: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
                               deltaBias: UnsafePointer<Float>?, state: UnsafeMutablePointer<Float>,
                               y: UnsafeMutablePointer<Float>, length: Int, d: Int, n: Int,
                               resetBefore: UnsafePointer<UInt8>? = nil) {
        forwardReference(u: u, delta: delta, A: A, B: B, C: C, ldBC: ldBC, D: D, z: z, deltaBias: deltaBias,
                         state: state, y: y, length: length, d: d, n: n, resetBefore: resetBefore)
    }
}
