import Foundation
import MambaKernels

/// One Mamba-1 mixer (mamba_ssm `mamba_simple.Mamba`), time-major over flat buffers:
///
///   x, z   = in_proj(h)                     h: (T, dModel) → x, z: (T, dInner)
///   u      = SiLU(causal_conv1d(x))         (T, dInner)
///   dt,B,C = x_proj(u)                      xdbl: (T, dtRank + 2·dState) = [dt | B | C]
///   delta  = dt_proj.weight · dt            (T, dInner), bias applied inside the scan (as the reference does)
///   y      = scan(u, delta, A = −exp(A_log), B, C, D) · SiLU(z)      (T, dInner)
///   out    = out_proj(y)                    (T, dModel)
public struct MambaMixer {
    public let config: MixerConfig
    public var inProjWeight: Tensor    // (2·dInner, dModel): rows [0, dInner) make x, rows [dInner, 2·dInner) make z
    public var inProjBias: Tensor?     // (2·dInner)
    public var convWeight: Tensor      // (dInner, 1, dConv), depthwise
    public var convBias: Tensor?       // (dInner)
    public var xProjWeight: Tensor     // (dtRank + 2·dState, dInner)
    public var dtProjWeight: Tensor    // (dInner, dtRank)
    public var dtProjBias: Tensor      // (dInner)
    public var ALog: Tensor            // (dInner, dState)
    public var D: Tensor               // (dInner)
    public var outProjWeight: Tensor   // (dModel, dInner)
    public var outProjBias: Tensor?    // (dModel)
    /// bf16 copies of the projection weights when they run in bf16 (`usePrecision`); nil: fp32 products.
    public internal(set) var lowPrecision: MixerBF16Weights?
    /// A = −exp(A_log), computed once and reused while A_log keeps the values it was computed from.
    let decayCache = DecayCache()

    /// Loads `prefix` + the reference parameter names. `shared` supplies in_proj/out_proj when they are tied
    /// to another mixer (Caduceus `bidirectional_weight_tie`: the tied copies are not stored).
    public static func load(_ store: WeightStore, prefix p: String, config c: MixerConfig,
                            shared: MambaMixer? = nil) throws -> MambaMixer {
        let dxp = c.dtRank + 2 * c.dState
        let inW: Tensor, inB: Tensor?, outW: Tensor, outB: Tensor?
        if let shared, !store.has(p + "in_proj.weight") {
            inW = shared.inProjWeight; inB = shared.inProjBias; outW = shared.outProjWeight; outB = shared.outProjBias
        } else {
            inW = try store.tensor(p + "in_proj.weight", shape: [2 * c.dInner, c.dModel])
            inB = c.bias ? try store.tensor(p + "in_proj.bias", shape: [2 * c.dInner]) : nil
            outW = try store.tensor(p + "out_proj.weight", shape: [c.dModel, c.dInner])
            outB = c.bias ? try store.tensor(p + "out_proj.bias", shape: [c.dModel]) : nil
        }
        return MambaMixer(
            config: c, inProjWeight: inW, inProjBias: inB,
            convWeight: try store.tensor(p + "conv1d.weight", shape: [c.dInner, 1, c.dConv]),
            convBias: c.convBias ? try store.tensor(p + "conv1d.bias", shape: [c.dInner]) : nil,
            xProjWeight: try store.tensor(p + "x_proj.weight", shape: [dxp, c.dInner]),
            dtProjWeight: try store.tensor(p + "dt_proj.weight", shape: [c.dInner, c.dtRank]),
            dtProjBias: try store.tensor(p + "dt_proj.bias", shape: [c.dInner]),
            ALog: try store.tensor(p + "A_log", shape: [c.dInner, c.dState]),
            D: try store.tensor(p + "D", shape: [c.dInner]),
            outProjWeight: outW, outProjBias: outB)
    }

    /// Named parameters; `includeProjections: false` leaves out tied in_proj/out_proj.
    public func tensors(prefix p: String, includeProjections: Bool = true) -> [(String, Tensor)] {
        var t: [(String, Tensor)] = [(p + "A_log", ALog), (p + "D", D), (p + "conv1d.weight", convWeight)]
        if let convBias { t.append((p + "conv1d.bias", convBias)) }
        if includeProjections {
            t.append((p + "in_proj.weight", inProjWeight))
            if let inProjBias { t.append((p + "in_proj.bias", inProjBias)) }
        }
        t += [(p + "x_proj.weight", xProjWeight), (p + "dt_proj.weight", dtProjWeight), (p + "dt_proj.bias", dtProjBias)]
        if includeProjections {
            t.append((p + "out_proj.weight", outProjWeight))
            if let outProjBias { t.append((p + "out_proj.bias", outProjBias)) }
        }
        return t
    }
}

/// A = −exp(A_log) of one mixer, kept with a copy of the A_log it came from. Weights are fixed at inference,
/// so every later chunk copies A instead of taking dInner·dState exps; training updates A_log in place, and a
/// changed A_log is noticed by the comparison and recomputed. Safe to share between threads.
final class DecayCache: @unchecked Sendable {
    private let lock = NSLock()
    private var source: [Float] = []
    private var A: [Float] = []

    /// dst (count of aLog) = −exp(aLog).
    func fill(_ dst: UnsafeMutablePointer<Float>, from aLog: Tensor) {
        let n = aLog.count
        if n == 0 { return }
        lock.lock()
        defer { lock.unlock() }
        let fresh = source.count == n && source.withUnsafeBufferPointer { memcmp($0.baseAddress!, aLog.ptr, n * 4) == 0 }
        if !fresh {
            source = Array(UnsafeBufferPointer(start: aLog.ptr, count: n))
            A = source.map { -Foundation.exp($0) }
        }
        A.withUnsafeBufferPointer { dst.update(from: $0.baseAddress!, count: n) }
    }
}

/// What a mixer carries from one chunk to the next: the last dConv−1 conv inputs and the scan state.
public final class MixerState {
    public let convHistory: Tensor  // (dConv − 1, dInner)
    public let ssm: Tensor          // (dInner, dState)
    public init(_ c: MixerConfig) {
        convHistory = Tensor(shape: [c.dConv - 1, c.dInner])
        ssm = Tensor(shape: [c.dInner, c.dState])
    }
    public func reset() {
        convHistory.data.update(repeating: 0, count: convHistory.count)
        ssm.data.update(repeating: 0, count: ssm.count)
    }
}

/// Activations of one mixer call over T rows; after `forward` they hold what a backward pass needs
/// (the scan's hidden states are recomputed from u, delta, B, C).
public final class MixerActivations {
    public let xc = Scratch()     // (T, dInner)  conv input (x half of in_proj)
    public let z = Scratch()      // (T, dInner)  gate (z half of in_proj)
    public let u = Scratch()      // (T, dInner)  SiLU(conv(x)), the scan input
    public let xdbl = Scratch()   // (T, dtRank + 2·dState)  x_proj output [dt | B | C]
    public let delta = Scratch()  // (T, dInner)  dt_proj.weight · dt, before bias and softplus
    public let y = Scratch()      // (T, dInner)  gated scan output, the out_proj input
    public let A = Scratch()      // (dInner, dState)  −exp(A_log)
    let zeroState = Scratch()     // (dInner, dState)  scan state when the caller keeps none
    // Kept here, not allocated per call, so that a mixer call allocates nothing (see `SelectiveScan.scratchBytes`).
    let convTaps = Scratch()      // (dConv + 1, dInner)  `CausalConv1d.transposeTaps` of the conv weight
    let scanScratch = Scratch()   // `SelectiveScan.scratchBytes`, plus room to align it to 64 bytes
    public private(set) var rows = 0
    public init() {}

    /// Sizes every buffer for T rows of mixer `c`.
    public func reserve(rows T: Int, _ c: MixerConfig) {
        rows = T
        for s in [xc, z, u, delta, y] { s.reserve(T * c.dInner) }
        xdbl.reserve(T * (c.dtRank + 2 * c.dState))
        A.reserve(c.dInner * c.dState)
        zeroState.reserve(c.dInner * c.dState)
    }
}

extension MambaMixer {
    /// act.xc, act.z = in_proj(h): h (T, dModel) with row stride ldh. Rows run in time slices over `threads`
    /// threads, one single-threaded product per slice.
    public func inProject(_ h: UnsafePointer<Float>, ldh: Int, rows T: Int, into act: MixerActivations,
                          threads: Int) {
        act.reserve(rows: T, config)
        Parallel.rowSlices(T, threads: threads) { rr in inProjectRows(h, ldh: ldh, rows: rr, into: act) }
    }

    /// Rows `rows` (0-based, half-open) of `inProject` on the calling thread; act must already hold rows.upperBound rows.
    /// h points at row 0 (not at rows.lowerBound).
    public func inProjectRows(_ h: UnsafePointer<Float>, ldh: Int, rows rr: Range<Int>, into act: MixerActivations) {
        let c = config, a = rr.lowerBound
        precondition(act.rows >= rr.upperBound)
        inProjectRows(h + a * ldh, ldh: ldh, count: rr.count, xc: act.xc.ptr + a * c.dInner, z: act.z.ptr + a * c.dInner)
    }

    /// xc, z (count, dInner) = the x and z halves of in_proj(h) for `count` rows of h (stride ldh).
    func inProjectRows(_ h: UnsafePointer<Float>, ldh: Int, count: Int, xc: UnsafeMutablePointer<Float>,
                       z: UnsafeMutablePointer<Float>) {
        let c = config
        // Two products into separate buffers so x is contiguous for the conv and z for the gate.
        if let lp = lowPrecision {
            Gemm.linearBF16(x: h, rows: count, ldx: ldh, weight: lp.inX, bias: inProjBias?.ptr, y: xc, threads: 1)
            Gemm.linearBF16(x: h, rows: count, ldx: ldh, weight: lp.inZ, bias: inProjBias.map { $0.ptr + c.dInner },
                            y: z, threads: 1)
            return
        }
        Gemm.linear(x: h, rows: count, inFeatures: c.dModel, ldx: ldh, weight: inProjWeight.ptr, bias: inProjBias?.ptr,
                    outFeatures: c.dInner, y: xc)
        Gemm.linear(x: h, rows: count, inFeatures: c.dModel, ldx: ldh, weight: inProjWeight.ptr + c.dInner * c.dModel,
                    bias: inProjBias.map { $0.ptr + c.dInner }, outFeatures: c.dInner, y: z)
    }

    /// From act.xc / act.z (T rows) to act.y: conv, SiLU, x_proj, dt_proj, scan with D skip and SiLU(z) gate.
    /// `state` (optional) supplies the conv history and scan state before row 0 and receives them after row T−1;
    /// without it both start at zero. `resetBefore` (T) marks packed-sequence starts.
    public func core(_ act: MixerActivations, rows T: Int, state: MixerState?, resetBefore: UnsafePointer<UInt8>?,
                     threads: Int) {
        precondition(act.rows >= T)
        core(xc: act.xc.ptr, z: act.z.ptr, y: act.y.ptr, rows: T, state: state, resetBefore: resetBefore, act: act,
             threads: threads)
    }

    /// `core` on caller-owned rows: xc, z (T, dInner) in, y (T, dInner) out, so a long sequence's in_proj output
    /// can be scanned in place chunk by chunk. act supplies the per-chunk temporaries (u, xdbl, delta).
    /// Row t of xc / z / y is at `+ t·ldx` / `+ t·ldz` / `+ t·ldy` (default dInner; negative strides run a
    /// reversed direction over the forward buffers without flipped copies); `accumulate` adds into y.
    /// Per-position work (conv, SiLU, x_proj, dt_proj) runs in time slices over `threads` threads, the scan over
    /// channel blocks.
    public func core(xc: UnsafePointer<Float>, ldx: Int? = nil, z: UnsafePointer<Float>, ldz: Int? = nil,
                     y: UnsafeMutablePointer<Float>, ldy: Int? = nil, accumulate: Bool = false, rows T: Int,
                     state: MixerState?, resetBefore: UnsafePointer<UInt8>?, act: MixerActivations,
                     threads: Int) {
        let c = config, di = c.dInner
        if act.rows < T { act.reserve(rows: T, c) }
        let dxp = c.dtRank + 2 * c.dState, lx = ldx ?? di
        let history = state.map { UnsafePointer($0.convHistory.data) }
        let taps = act.convTaps.reserve(CausalConv1d.tapsCount(channels: di, kernelSize: c.dConv))
        CausalConv1d.transposeTaps(convWeight.ptr, channels: di, kernelSize: c.dConv, into: taps)
        Parallel.rowSlices(T, threads: threads) { rr in
            // In blocks of 256 rows, so that u is still in L2 when x_proj reads it.
            var a = rr.lowerBound
            while a < rr.upperBound {
                let block = a..<Swift.min(a + 256, rr.upperBound), n = block.count
                // SiLU fused into the conv: the scan input u in one pass.
                CausalConv1d.forwardRows(block, x: xc, ldx: lx, length: T, channels: di, weight: convWeight.ptr,
                                         bias: convBias?.ptr, kernelSize: c.dConv, history: history, y: act.u.ptr,
                                         resetBefore: resetBefore, silu: true, taps: taps)
                if let lp = lowPrecision {
                    Gemm.linearBF16(x: act.u.ptr + a * di, rows: n, weight: lp.xProj, y: act.xdbl.ptr + a * dxp, threads: 1)
                } else {
                    Gemm.linear(x: act.u.ptr + a * di, rows: n, inFeatures: di, weight: xProjWeight.ptr, outFeatures: dxp,
                                y: act.xdbl.ptr + a * dxp)
                }
                Gemm.linear(x: act.xdbl.ptr + a * dxp, rows: n, inFeatures: c.dtRank, ldx: dxp, weight: dtProjWeight.ptr,
                            outFeatures: di, y: act.delta.ptr + a * di)
                a = block.upperBound
            }
        }
        decayCache.fill(act.A.ptr, from: ALog)
        let h: UnsafeMutablePointer<Float>
        if let state { h = state.ssm.data } else {
            h = act.zeroState.ptr
            h.update(repeating: 0, count: di * c.dState)
        }
        let scanBytes = SelectiveScan.scratchBytes(d: di, n: c.dState, threads: threads)
        let scanBase = UnsafeMutableRawPointer(act.scanScratch.reserve(scanBytes / 4 + 16)).alignedUp(toMultipleOf: 64)
        SelectiveScan.forward(u: act.u.ptr, delta: act.delta.ptr, A: act.A.ptr, B: act.xdbl.ptr + c.dtRank,
                              C: act.xdbl.ptr + c.dtRank + c.dState, ldBC: dxp, D: D.ptr, z: z,
                              deltaBias: dtProjBias.ptr, state: h, y: y, length: T, d: di, n: c.dState,
                              resetBefore: resetBefore, ldz: ldz ?? di, ldy: ldy ?? di, accumulate: accumulate,
                              threads: threads, scratch: UnsafeMutableRawBufferPointer(start: scanBase, count: scanBytes))
        if let state { updateHistory(state.convHistory, xc: xc, ldx: lx, rows: T, resetBefore: resetBefore) }
    }

    /// out (T, dModel, row stride ldo) = out_proj(y) (or += when accumulating), in time slices over `threads` threads.
    public func outProject(_ y: UnsafePointer<Float>, rows T: Int, out: UnsafeMutablePointer<Float>, ldo: Int,
                           accumulate: Bool = false, threads: Int) {
        nonisolated(unsafe) let out = out
        Parallel.rowSlices(T, threads: threads) { rr in
            outProjectRows(y, rows: rr, out: out, ldo: ldo, accumulate: accumulate)
        }
    }

    /// Rows `rows` (0-based, half-open) of `outProject` on the calling thread; y and out point at row 0.
    public func outProjectRows(_ y: UnsafePointer<Float>, rows rr: Range<Int>, out: UnsafeMutablePointer<Float>, ldo: Int,
                               accumulate: Bool = false) {
        let c = config, a = rr.lowerBound, o = out + a * ldo
        if accumulate, let b = outProjBias {
            for r in 0..<rr.count { Ops.addInPlace(o + r * ldo, b.ptr, count: c.dModel, threads: 1) }
        }
        if let lp = lowPrecision {
            Gemm.linearBF16(x: y + a * c.dInner, rows: rr.count, weight: lp.outProj, bias: accumulate ? nil : outProjBias?.ptr,
                            y: o, ldy: ldo, accumulate: accumulate, threads: 1)
            return
        }
        Gemm.linear(x: y + a * c.dInner, rows: rr.count, inFeatures: c.dInner, weight: outProjWeight.ptr,
                    bias: accumulate ? nil : outProjBias?.ptr, outFeatures: c.dModel, y: o, ldy: ldo, accumulate: accumulate)
    }

    /// The whole mixer: out = Mamba(h). h: (T, dModel) stride ldh; out: (T, dModel) stride ldo.
    public func forward(_ h: UnsafePointer<Float>, ldh: Int, rows T: Int, out: UnsafeMutablePointer<Float>, ldo: Int,
                        state: MixerState? = nil, resetBefore: UnsafePointer<UInt8>? = nil, act: MixerActivations,
                        threads: Int) {
        if T == 0 { return }
        inProject(h, ldh: ldh, rows: T, into: act, threads: threads)
        core(act, rows: T, state: state, resetBefore: resetBefore, threads: threads)
        outProject(act.y.ptr, rows: T, out: out, ldo: ldo, threads: threads)
    }

    /// New history = last dConv−1 rows of [old history; xc], with rows before the last sequence start zeroed
    /// (they belong to an earlier packed sequence).
    private func updateHistory(_ hist: Tensor, xc: UnsafePointer<Float>, ldx: Int, rows T: Int,
                               resetBefore: UnsafePointer<UInt8>?) {
        let k1 = config.dConv - 1, d = config.dInner
        if k1 == 0 { return }
        var lastStart = Int.min
        if let resetBefore { for t in stride(from: T - 1, through: 0, by: -1) where resetBefore[t] != 0 { lastStart = t; break } }
        // Row r of the combined sequence: r < 0 → old history row k1 + r; r ≥ 0 → xc row r.
        // Walk destination rows in increasing order; a source old-history row is always at or after its destination.
        for j in 0..<k1 {
            let r = T - k1 + j
            let dst = hist.data + j * d
            if r < lastStart { dst.update(repeating: 0, count: d) }
            else if r >= 0 { dst.update(from: xc + r * ldx, count: d) }
            else { dst.update(from: hist.ptr + (k1 + r) * d, count: d) }
        }
    }
}
