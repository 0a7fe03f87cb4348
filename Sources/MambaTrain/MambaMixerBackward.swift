import Foundation
import MambaModel

/// Backward pass of one `MambaMixer` call (no carried state: conv history and scan state start at zero;
/// packed sequences are separated by `resetBefore`).
///
/// Forward (MambaMixer.swift), T rows:
///   xc, z  = in_proj(h)          u = SiLU(conv(xc))        xdbl = x_proj(u) = [dt | B | C]
///   delta  = dt_proj.weight·dt   y = scan(u, delta, A = −exp(A_log), B, C, D, z; bias = dt_proj.bias)
///   out    = out_proj(y)
/// Backward, in reverse: out_proj → scan → dt_proj → x_proj (its input gradient adds to the scan's du) →
/// SiLU → conv → in_proj. dA_log = dA ∘ A because ∂A/∂A_log = −exp(A_log) = A.
public enum MambaMixerBackward {
    /// Scratch for one backward call, reused across layers and steps.
    public final class Workspace {
        let dy = Scratch(), du = Scratch(), ddelta = Scratch(), dz = Scratch(), dxdbl = Scratch()
        let convPre = Scratch(), dxc = Scratch(), dA = Scratch()
        public init() {}
    }

    /// h: (T, dModel) mixer input (row stride ldh); act: the activations `MambaMixer.forward` left for these
    /// rows; dOut: (T, dModel) (row stride ldo). Writes dh (T, dModel, row stride lddh), or adds to it when
    /// `accumulate`; adds every parameter gradient into `grads` (looked up by tensor, so tied projections sum).
    public static func backward(_ mixer: MambaMixer, h: UnsafePointer<Float>, ldh: Int, rows T: Int,
                                act: MixerActivations, resetBefore: UnsafePointer<UInt8>?,
                                dOut: UnsafePointer<Float>, ldo: Int,
                                dh: UnsafeMutablePointer<Float>, lddh: Int, accumulate: Bool = false,
                                grads: ParameterSet, ws: Workspace) {
        if T == 0 { return }
        let c = mixer.config
        let (dIn, n, r, K) = (c.dInner, c.dState, c.dtRank, c.dConv)
        let dxp = r + 2 * n
        let dy = ws.dy.reserve(T * dIn), du = ws.du.reserve(T * dIn), ddelta = ws.ddelta.reserve(T * dIn)
        let dz = ws.dz.reserve(T * dIn), dxdbl = ws.dxdbl.reserve(T * dxp)
        let convPre = ws.convPre.reserve(T * dIn), dxc = ws.dxc.reserve(T * dIn), dA = ws.dA.reserve(dIn * n)

        // out = y·W_outᵀ (+ b)
        LinearBackward.backward(x: act.y.ptr, rows: T, inFeatures: dIn, weight: mixer.outProjWeight.ptr,
                                outFeatures: c.dModel, dy: dOut, lddy: ldo, dx: dy,
                                dWeight: grads.grad(mixer.outProjWeight),
                                dBias: mixer.outProjBias.map { grads.grad($0) })

        // y = scan(...): dA goes through a scratch buffer to become dA_log.
        dA.update(repeating: 0, count: dIn * n)
        SelectiveScanBackward.backward(
            u: act.u.ptr, delta: act.delta.ptr, A: act.A.ptr, B: act.xdbl.ptr + r, C: act.xdbl.ptr + r + n, ldBC: dxp,
            D: mixer.D.ptr, z: act.z.ptr, deltaBias: mixer.dtProjBias.ptr, initialState: nil, dOut: dy,
            du: du, ddelta: ddelta, dA: dA, dB: dxdbl + r, dC: dxdbl + r + n, ldGradBC: dxp,
            dD: grads.grad(mixer.D), dz: dz, dDeltaBias: grads.grad(mixer.dtProjBias),
            length: T, d: dIn, n: n, resetBefore: resetBefore)
        let gALog = grads.grad(mixer.ALog)
        for i in 0..<(dIn * n) { gALog[i] += dA[i] * act.A.ptr[i] }

        // delta = dt·W_dtᵀ: dt is xdbl[:, :r]; its gradient fills dxdbl[:, :r] next to dB, dC.
        LinearBackward.backward(x: act.xdbl.ptr, rows: T, inFeatures: r, ldx: dxp, weight: mixer.dtProjWeight.ptr,
                                outFeatures: dIn, dy: ddelta, dx: dxdbl, lddx: dxp,
                                dWeight: grads.grad(mixer.dtProjWeight))

        // xdbl = u·W_xᵀ: u feeds both x_proj and the scan, so du accumulates.
        LinearBackward.backward(x: act.u.ptr, rows: T, inFeatures: dIn, weight: mixer.xProjWeight.ptr,
                                outFeatures: dxp, dy: dxdbl, dx: du, accumulateInput: true,
                                dWeight: grads.grad(mixer.xProjWeight))

        // u = SiLU(conv(xc)): the conv output was overwritten in place by SiLU, so run the conv again.
        CausalConv1d.forwardReference(x: act.xc.ptr, length: T, channels: dIn, weight: mixer.convWeight.ptr,
                                      bias: mixer.convBias?.ptr, kernelSize: K, history: nil, y: convPre,
                                      resetBefore: resetBefore)
        ActivationBackward.silu(x: convPre, dy: du, dx: du, count: T * dIn)
        CausalConv1dBackward.backwardReference(x: act.xc.ptr, length: T, channels: dIn, weight: mixer.convWeight.ptr,
                                               kernelSize: K, history: nil, dy: du, dx: dxc,
                                               dWeight: grads.grad(mixer.convWeight),
                                               dBias: mixer.convBias.map { grads.grad($0) }, resetBefore: resetBefore)

        // xc, z = h·W_inᵀ: rows [0, dInner) of W_in make xc, rows [dInner, 2·dInner) make z.
        let win = mixer.inProjWeight.ptr, gWin = grads.grad(mixer.inProjWeight)
        let gBin = mixer.inProjBias.map { grads.grad($0) }
        LinearBackward.backward(x: h, rows: T, inFeatures: c.dModel, ldx: ldh, weight: win, outFeatures: dIn,
                                dy: dxc, dx: dh, lddx: lddh, accumulateInput: accumulate, dWeight: gWin, dBias: gBin)
        LinearBackward.backward(x: h, rows: T, inFeatures: c.dModel, ldx: ldh, weight: win + dIn * c.dModel,
                                outFeatures: dIn, dy: dz, dx: dh, lddx: lddh, accumulateInput: true,
                                dWeight: gWin + dIn * c.dModel, dBias: gBin.map { $0 + dIn })
    }
}
