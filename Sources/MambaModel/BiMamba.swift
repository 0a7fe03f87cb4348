import MambaKernels

/// Caduceus `BiMambaWrapper`: out = fwd(h) ⊕ flip(rev(flip(h))), ⊕ = + (strategy add) or · (ew_multiply);
/// flip reverses positions within each packed sequence. Without `rev` it is a plain (causal) mixer.
///
/// With `bidirectional_weight_tie` rev shares in_proj and out_proj with fwd. Both are per-position linear maps,
/// so rev's in_proj output is fwd's with the rows flipped, and for `add` the two out_proj products fold
/// into one: out_proj(y_f) + flip(out_proj(y_r)) = out_proj(y_f + flip(y_r)) (+ bias once more).
public struct BiMambaMixer {
    public var fwd: MambaMixer
    public var rev: MambaMixer?
    public var strategy: CaduceusConfig.Strategy
    public var weightTie: Bool
    public var config: MixerConfig { fwd.config }

    public init(fwd: MambaMixer, rev: MambaMixer?, strategy: CaduceusConfig.Strategy, weightTie: Bool) {
        self.fwd = fwd; self.rev = rev; self.strategy = strategy; self.weightTie = weightTie
    }

    /// out (L, dModel, stride ldo) = BiMamba(h) for h (L, dModel, stride ldh) holding the sequences of `segments`.
    /// Sequences up to `chunkRows` rows run as one block; longer ones run in chunks (left to right for fwd,
    /// right to left for rev) carrying conv history and scan state, so temporaries stay O(chunkRows · dInner).
    public func forward(_ h: UnsafePointer<Float>, ldh: Int, segments: Segments, out: UnsafeMutablePointer<Float>, ldo: Int,
                        chunkRows: Int, ws: BiMambaWorkspace, threads: Int) {
        let L = segments.length
        if L == 0 { return }
        if let rev, weightTie, strategy == .add {
            forwardTiedAdd(rev, h, ldh: ldh, segments: segments, out: out, ldo: ldo, chunkRows: chunkRows, ws: ws,
                           threads: threads)
        } else if L <= chunkRows { forwardWhole(h, ldh: ldh, segments: segments, out: out, ldo: ldo, ws: ws, threads: threads) }
        else { forwardChunked(h, ldh: ldh, segments: segments, out: out, ldo: ldo, chunkRows: chunkRows, ws: ws, threads: threads) }
    }

    /// Tied weights, `add`, with the input rows read from h and the output rows written to out.
    private func forwardTiedAdd(_ rev: MambaMixer, _ h: UnsafePointer<Float>, ldh: Int, segments s: Segments,
                                out: UnsafeMutablePointer<Float>, ldo: Int, chunkRows: Int, ws: BiMambaWorkspace,
                                threads: Int) {
        let d = config.dModel
        nonisolated(unsafe) let out = out
        forwardTiedAdd(rev, segments: s, chunkRows: chunkRows, ws: ws, threads: threads,
                       input: { rr, _ in (h + rr.lowerBound * ldh, ldh) },
                       output: { rr, src in
                           Ops.copyRows(src, ld: d, to: out + rr.lowerBound * ldo, ld: ldo, rows: rr.count, cols: d)
                       })
    }

    /// Rows handed to `input`/`output` at a time: a block's normed input (512 KiB at d_model 256) is still cached when
    /// in_proj reads it, and OpenBLAS packs the weights once per block (256-row blocks measured ≈2% slower).
    static let rowBlock = 512

    /// Tied weights, `add`, over the L rows of `segments`: in_proj once over all rows (rev's input is the same rows
    /// flipped), the two scans chunk by chunk over those rows (fwd left to right; rev right to left, reading and
    /// accumulating into the same buffers with negative row strides), then one out_proj:
    /// out_proj(y_f) + flip(out_proj(y_r)) = out_proj(y_f + flip(y_r)) (+ bias once more).
    /// Half the matrix work of running two mixers; memory is 3·L·dInner floats plus per-chunk temporaries.
    ///
    /// `input(rows, scratch)` returns the mixer input of rows `rows` (dModel wide) and its row stride, either in place
    /// or written into `scratch` (rowBlock × dModel floats); `output(rows, src)` receives the mixer output of those
    /// rows (dModel wide, contiguous). Both are called from several threads at once, for disjoint rows, in blocks of
    /// at most `rowBlock` rows. `threads`: workers for the time slices and the scans (products single-threaded).
    func forwardTiedAdd(_ rev: MambaMixer, segments s: Segments, chunkRows: Int, ws: BiMambaWorkspace, threads: Int,
                        input: (Range<Int>, UnsafeMutablePointer<Float>) -> (UnsafePointer<Float>, Int),
                        output: (Range<Int>, UnsafePointer<Float>) -> Void) {
        let c = config, L = s.length, di = c.dInner, dm = c.dModel, chunk = max(1, min(chunkRows, L))
        if L == 0 { return }
        let xc = ws.xcAll.reserve(L * di), z = ws.zAll.reserve(L * di), ysum = ws.ySum.reserve(L * di)
        let fwd = self.fwd, B = BiMambaMixer.rowBlock
        Parallel.rowSlices(L, threads: threads) { rr in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: B * dm)
            defer { scratch.deallocate() }
            var a = rr.lowerBound
            while a < rr.upperBound {
                let block = a..<min(a + B, rr.upperBound)
                let (x, ld) = input(block, scratch)
                fwd.inProjectRows(x, ldh: ld, count: block.count, xc: xc + a * di, z: z + a * di)
                a = block.upperBound
            }
        }
        // One sequence fits one chunk: no state needs carrying (the scan starts from zero either way).
        let stateF: MixerState? = L > chunk ? ws.state(0, c) : nil
        let stateR: MixerState? = L > chunk ? ws.state(1, c) : nil
        stateF?.reset(); stateR?.reset()
        s.forwardResets.withUnsafeBufferPointer { resets in
            var a = 0
            while a < L {
                let n = min(chunk, L - a)
                fwd.core(xc: xc + a * di, z: z + a * di, y: ysum + a * di, rows: n, state: stateF,
                         resetBefore: resets.baseAddress! + a, act: ws.fwd, threads: threads)
                a += n
            }
        }
        s.reverseResets.withUnsafeBufferPointer { resets in
            var b = L  // chunk [a, b) taken from the right end; flipped row i is row b−1−i
            while b > 0 {
                let n = min(chunk, b), a = b - n, last = (b - 1) * di
                // Flipped row i of the chunk is original row b−1−i, i.e. reversed index L−b+i.
                rev.core(xc: xc + last, ldx: -di, z: z + last, ldz: -di, y: ysum + last, ldy: -di, accumulate: true,
                         rows: n, state: stateR, resetBefore: resets.baseAddress! + (L - b), act: ws.rev, threads: threads)
                b = a
            }
        }
        Parallel.rowSlices(L, threads: threads) { rr in
            let o = UnsafeMutablePointer<Float>.allocate(capacity: B * dm)
            defer { o.deallocate() }
            var a = rr.lowerBound
            while a < rr.upperBound {
                let block = a..<min(a + B, rr.upperBound)
                fwd.outProjectRows(ysum + a * di, rows: 0..<block.count, out: o, ldo: dm)
                if let bias = fwd.outProjBias { for r in 0..<block.count { Ops.addInPlace(o + r * dm, bias.ptr, count: dm, threads: 1) } }
                output(block, o)
                a = block.upperBound
            }
        }
    }

    private func forwardWhole(_ h: UnsafePointer<Float>, ldh: Int, segments s: Segments, out: UnsafeMutablePointer<Float>,
                              ldo: Int, ws: BiMambaWorkspace, threads: Int) {
        let c = config, L = s.length, di = c.dInner
        fwd.inProject(h, ldh: ldh, rows: L, into: ws.fwd, threads: threads)
        s.forwardResets.withUnsafeBufferPointer {
            fwd.core(ws.fwd, rows: L, state: nil, resetBefore: $0.baseAddress, threads: threads)
        }
        guard let rev else {
            fwd.outProject(ws.fwd.y.ptr, rows: L, out: out, ldo: ldo, threads: threads)
            return
        }
        // rev runs over the buffer flipped as a whole: the order of packed sequences does not matter,
        // and the flipped buffer starts a sequence wherever the original ends one (reverseResets).
        if weightTie {
            ws.rev.reserve(rows: L, c)
            Ops.reverseRows(ws.fwd.xc.ptr, ld: di, to: ws.rev.xc.ptr, ld: di, rows: L, cols: di, threads: threads)
            Ops.reverseRows(ws.fwd.z.ptr, ld: di, to: ws.rev.z.ptr, ld: di, rows: L, cols: di, threads: threads)
        } else {
            let hr = ws.flippedInput.reserve(L * c.dModel)
            Ops.reverseRows(h, ld: ldh, to: hr, ld: c.dModel, rows: L, cols: c.dModel, threads: threads)
            rev.inProject(hr, ldh: c.dModel, rows: L, into: ws.rev, threads: threads)
        }
        s.reverseResets.withUnsafeBufferPointer {
            rev.core(ws.rev, rows: L, state: nil, resetBefore: $0.baseAddress, threads: threads)
        }

        if weightTie && strategy == .add {
            let ysum = ws.ySum.reserve(L * di)
            Ops.reverseRows(ws.rev.y.ptr, ld: di, to: ysum, ld: di, rows: L, cols: di, threads: threads)
            Ops.addInPlace(ysum, ws.fwd.y.ptr, count: L * di, threads: threads)
            fwd.outProject(ysum, rows: L, out: out, ldo: ldo, threads: threads)
            if let b = fwd.outProjBias { for r in 0..<L { Ops.addInPlace(out + r * ldo, b.ptr, count: c.dModel, threads: threads) } }
        } else {
            fwd.outProject(ws.fwd.y.ptr, rows: L, out: out, ldo: ldo, threads: threads)
            let tmp = ws.revOut.reserve(L * c.dModel)
            rev.outProject(ws.rev.y.ptr, rows: L, out: tmp, ldo: c.dModel, threads: threads)
            combine(out, ldo: ldo, reversed: tmp, rows: L, threads: threads)
        }
    }

    private func forwardChunked(_ h: UnsafePointer<Float>, ldh: Int, segments s: Segments, out: UnsafeMutablePointer<Float>,
                                ldo: Int, chunkRows: Int, ws: BiMambaWorkspace, threads: Int) {
        let c = config, L = s.length
        let stateF = MixerState(c)
        s.forwardResets.withUnsafeBufferPointer { resets in
            var a = 0
            while a < L {
                let n = min(chunkRows, L - a)
                fwd.forward(h + a * ldh, ldh: ldh, rows: n, out: out + a * ldo, ldo: ldo, state: stateF,
                            resetBefore: resets.baseAddress! + a, act: ws.fwd, threads: threads)
                a += n
            }
        }
        guard let rev else { return }
        let stateR = MixerState(c)
        let hr = ws.flippedInput.reserve(chunkRows * c.dModel)
        let tmp = ws.revOut.reserve(chunkRows * c.dModel)
        s.reverseResets.withUnsafeBufferPointer { resets in
            var b = L  // chunk [a, b) taken from the right end, flipped
            while b > 0 {
                let n = min(chunkRows, b), a = b - n
                Ops.reverseRows(h + a * ldh, ld: ldh, to: hr, ld: c.dModel, rows: n, cols: c.dModel, threads: threads)
                // Row i of the flipped chunk is original row b−1−i, i.e. reversed index L−b+i.
                rev.forward(hr, ldh: c.dModel, rows: n, out: tmp, ldo: c.dModel, state: stateR,
                            resetBefore: resets.baseAddress! + (L - b), act: ws.rev, threads: threads)
                combine(out + a * ldo, ldo: ldo, reversed: tmp, rows: n, threads: threads)
                b = a
            }
        }
    }

    /// out[r] ⊕= rev[rows−1−r]
    private func combine(_ out: UnsafeMutablePointer<Float>, ldo: Int, reversed tmp: UnsafePointer<Float>, rows: Int,
                         threads: Int) {
        let d = config.dModel
        for r in 0..<rows {
            let o = out + r * ldo, t = tmp + (rows - 1 - r) * d
            switch strategy {
            case .add: Ops.addInPlace(o, t, count: d, threads: threads)
            case .ewMultiply: Ops.mulInPlace(o, t, count: d, threads: threads)
            }
        }
    }
}

/// Scratch memory for one BiMamba call, reused across layers and chunks.
public final class BiMambaWorkspace {
    public let fwd = MixerActivations()
    public let rev = MixerActivations()
    let ySum = Scratch()          // (L, dInner)
    let revOut = Scratch()        // (rows, dModel)
    let flippedInput = Scratch()  // (rows, dModel)
    let xcAll = Scratch()         // (L, dInner) in_proj x half, tied path
    let zAll = Scratch()          // (L, dInner) in_proj z half, tied path
    private var states: [MixerState] = []
    public init() {}

    /// Carried conv/scan state number i (0: fwd, 1: rev) for mixers of config c, kept across calls.
    func state(_ i: Int, _ c: MixerConfig) -> MixerState {
        if states.count <= i || states[i].ssm.count != c.dInner * c.dState || states[i].convHistory.count != (c.dConv - 1) * c.dInner {
            while states.count <= i { states.append(MixerState(c)) }
            states[i] = MixerState(c)
        }
        return states[i]
    }
}
