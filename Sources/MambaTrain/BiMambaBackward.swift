import MambaModel

/// What the training forward of one `BiMambaMixer` call keeps for its backward pass (T rows).
public final class BiMambaTape {
    let fwd = MixerActivations()
    let rev = MixerActivations()
    let flippedInput = Scratch()  // (T, d) the input flipped along positions: the reverse mixer's input
    let outF = Scratch()          // (T, d) forward mixer output
    let outR = Scratch()          // (T, d) reverse mixer output (in flipped order)
    public init() {}
}

/// Training forward and backward of Caduceus `BiMambaWrapper`:
///
///   f = fwd(x);  rv = rev(flip(x));  out[t] = f[t] ⊕ rv[T−1−t]      (`BiMambaCombine`)
///
/// flip reverses the whole buffer, so packed sequences keep their own rows (the reverse pass uses
/// `segments.reverseResets`). With `bidirectional_weight_tie` rev's in_proj/out_proj ARE fwd's tensors, so
/// both directions' gradients add into the same parameter through `ParameterSet.grad`. The two directions run
/// as two whole mixers here (the inference path folds the tied products into one; the sums are the same).
public enum BiMambaBackward {
    /// Scratch for one backward call, reused across layers and steps.
    public final class Workspace {
        let dF = Scratch(), dR = Scratch(), dxr = Scratch()
        let mixer = MambaMixerBackward.Workspace()
        public init() {}
    }

    /// x: (T, d) contiguous mixer input; out: (T, d) with row stride ldo.
    public static func forward(_ m: BiMambaMixer, x: UnsafePointer<Float>, rows T: Int, segments: Segments,
                               out: UnsafeMutablePointer<Float>, ldo: Int, tape: BiMambaTape) {
        if T == 0 { return }
        let d = m.config.dModel
        guard let rev = m.rev else {
            segments.forwardResets.withUnsafeBufferPointer {
                m.fwd.forward(x, ldh: d, rows: T, out: out, ldo: ldo, resetBefore: $0.baseAddress, act: tape.fwd, threads: 1)
            }
            return
        }
        let f = tape.outF.reserve(T * d), rv = tape.outR.reserve(T * d), xr = tape.flippedInput.reserve(T * d)
        segments.forwardResets.withUnsafeBufferPointer {
            m.fwd.forward(x, ldh: d, rows: T, out: f, ldo: d, resetBefore: $0.baseAddress, act: tape.fwd, threads: 1)
        }
        StrandOps.flipRows(x, ld: d, to: xr, ld: d, rows: T, cols: d)
        segments.reverseResets.withUnsafeBufferPointer {
            rev.forward(xr, ldh: d, rows: T, out: rv, ldo: d, resetBefore: $0.baseAddress, act: tape.rev, threads: 1)
        }
        BiMambaCombine.forward(m.strategy, f: f, rv: rv, rows: T, cols: d, out: out, ldo: ldo)
    }

    /// dOut: (T, d) with row stride ldo, for the rows `forward` ran on (same x, segments and tape).
    /// Writes dx (T, d) contiguous (overwritten); adds every parameter gradient into `grads`.
    public static func backward(_ m: BiMambaMixer, x: UnsafePointer<Float>, rows T: Int, segments: Segments,
                                dOut: UnsafePointer<Float>, ldo: Int, dx: UnsafeMutablePointer<Float>,
                                grads: ParameterSet, tape: BiMambaTape, ws: Workspace) {
        if T == 0 { return }
        let d = m.config.dModel
        guard let rev = m.rev else {
            segments.forwardResets.withUnsafeBufferPointer {
                MambaMixerBackward.backward(m.fwd, h: x, ldh: d, rows: T, act: tape.fwd, resetBefore: $0.baseAddress,
                                            dOut: dOut, ldo: ldo, dh: dx, lddh: d, grads: grads, ws: ws.mixer)
            }
            return
        }
        let dF = ws.dF.reserve(T * d), dR = ws.dR.reserve(T * d), dxr = ws.dxr.reserve(T * d)
        BiMambaCombine.backward(m.strategy, f: tape.outF.ptr, rv: tape.outR.ptr, rows: T, cols: d, dOut: dOut, ldo: ldo,
                                dF: dF, dRv: dR)
        segments.forwardResets.withUnsafeBufferPointer {
            MambaMixerBackward.backward(m.fwd, h: x, ldh: d, rows: T, act: tape.fwd, resetBefore: $0.baseAddress,
                                        dOut: dF, ldo: d, dh: dx, lddh: d, grads: grads, ws: ws.mixer)
        }
        segments.reverseResets.withUnsafeBufferPointer {
            MambaMixerBackward.backward(rev, h: tape.flippedInput.ptr, ldh: d, rows: T, act: tape.rev,
                                        resetBefore: $0.baseAddress, dOut: dR, ldo: d, dh: dxr, lddh: d, grads: grads,
                                        ws: ws.mixer)
        }
        // x reached rev through flip: its gradient comes back flipped.
        for t in 0..<T {
            let a = dx + t * d, b = dxr + (T - 1 - t) * d
            for c in 0..<d { a[c] += b[c] }
        }
    }
}
