import MambaModel

/// What the training forward of a `CaduceusModel` keeps for the backward pass (T rows; W = 2d with RCPS, else d).
public final class CaduceusTape {
    var normIn: [Scratch] = []       // per layer: strand-0 norm input r_i[:, :d] (T, d)
    var normed: [Scratch] = []       // per layer: strand-0 mixer input (T, d)
    var rcNormIn: [Scratch] = []     // per layer (RCPS): rc(r_i[:, d:]) (T, d), the rc strand's norm input
    var rcNormed: [Scratch] = []     // per layer (RCPS): its mixer input (T, d)
    var bi: [BiMambaTape] = []       // per layer: strand 0
    var rcBi: [BiMambaTape] = []     // per layer (RCPS): rc strand
    let stream = Scratch()           // (T, W) the residual stream s = r + h
    let hidden = Scratch()           // (T, W) block output h
    let finalIn = Scratch()          // (T, d) norm_f input of strand 0
    let rcFinalIn = Scratch()        // (T, d) rc(s[:, d:]), norm_f input of the rc strand (RCPS)
    let strand = Scratch(), strand2 = Scratch()  // (T, d) temporaries
    public let output = Scratch()    // (T, W) final hidden states (`hiddenStates` layout)
    public let logits = Scratch()    // (T, V)
    let head = Scratch(), dHead = Scratch()      // (V, W) RCPS head matrix and its gradient
    let dLogits = Scratch(), dOutput = Scratch(), g = Scratch()
    let biWS = BiMambaBackward.Workspace()
    public private(set) var rows = 0
    public init() {}

    func reserve(layers: Int, rows T: Int, dim d: Int, width W: Int, vocab V: Int) {
        while normIn.count < layers {
            normIn.append(Scratch()); normed.append(Scratch()); rcNormIn.append(Scratch()); rcNormed.append(Scratch())
            bi.append(BiMambaTape()); rcBi.append(BiMambaTape())
        }
        for s in normIn + normed + [finalIn, strand, strand2] { s.reserve(T * d) }
        if W > d { for s in rcNormIn + rcNormed + [rcFinalIn] { s.reserve(T * d) } }
        for s in [stream, hidden, output, dOutput, g] { s.reserve(T * W) }
        logits.reserve(T * V); dLogits.reserve(T * V); head.reserve(V * W); dHead.reserve(V * W)
        rows = T
    }
}

/// Training forward and backward of `CaduceusModel` (Caduceus-Ph and -PS, `CaduceusForMaskedLM`), following
/// its forward (Caduceus.swift) step for step:
///
///   s = emb(ids) (RCPS: both strands);  per block i:  r = swap_halves(s) (RCPS + fused add-norm) else s
///        h[:, :d] = BiMamba(norm(r[:, :d]));  RCPS: h[:, d:] = rc(BiMamba(norm(rc(r[:, d:]))))  (rev segments)
///        s = r + h
///   out = [norm_f(s[:, :d]) | rc(norm_f(rc(s[:, d:])))];  logits = out·Hᵀ (RCPS head) or out·W_headᵀ
///
/// Backward keeps g = ∂loss/∂s: it is ∂loss/∂h of the block that made s, plus each norm's input gradient for
/// ∂loss/∂r; swap_halves and rc are permutations, so their gradients are the same permutations. The rc strand
/// reuses the norm and mixer tensors, so its gradients add into the same parameters; the tied LM head adds into
/// the embedding's. Packed batches: `segments` gives the sequence starts.
public enum CaduceusBackward {
    /// The distinct trainable tensors under the names the checkpoint stores (tied aliases left out).
    public static func namedTensors(_ model: CaduceusModel) -> [(String, Tensor)] { model.trainableTensors() }

    /// Forward over T tokens up to the final norm: `tape.output` (T, outputDim).
    public static func encode(_ model: CaduceusModel, tokens: UnsafePointer<Int>, segments: Segments,
                              tape: CaduceusTape) {
        let c = model.config, T = segments.length, d = c.dModel, W = model.outputDim, rcps = c.rcps
        tape.reserve(layers: model.layers.count, rows: T, dim: d, width: W, vocab: model.vocabSize)
        if T == 0 { return }
        let s = tape.stream.ptr, h = tape.hidden.ptr
        if rcps {
            RCPS.embed(table: model.embedding.ptr, vocab: model.vocabSize, dim: d, complement: model.complementMap,
                       ids: tokens, count: T, h: h)
        } else {
            Embedding.forward(table: model.embedding.ptr, vocab: model.vocabSize, dim: d, ids: tokens, count: T, y: h)
        }
        let revSegments = segments.reversed()
        for (i, layer) in model.layers.enumerated() {
            if i == 0 { s.update(from: h, count: T * W) } else { for k in 0..<(T * W) { s[k] += h[k] } }
            if rcps && c.fusedAddNorm { StrandOps.swapHalves(s, rows: T, half: d) }
            let x0 = tape.normIn[i].ptr, n0 = tape.normed[i].ptr
            StrandOps.copyRows(s, ld: W, to: x0, ld: d, rows: T, cols: d)
            layer.norm.forward(x0, ldx: d, rows: T, y: n0, ldy: d, threads: 1)
            BiMambaBackward.forward(layer.mixer, x: n0, rows: T, segments: segments, out: h, ldo: W, tape: tape.bi[i])
            guard rcps else { continue }
            let x1 = tape.rcNormIn[i].ptr, n1 = tape.rcNormed[i].ptr, o1 = tape.strand.ptr
            StrandOps.reverseComplement(s + d, ld: W, to: x1, ld: d, rows: T, cols: d)
            layer.norm.forward(x1, ldx: d, rows: T, y: n1, ldy: d, threads: 1)
            BiMambaBackward.forward(layer.mixer, x: n1, rows: T, segments: revSegments, out: o1, ldo: d,
                                    tape: tape.rcBi[i])
            StrandOps.reverseComplement(o1, ld: d, to: h + d, ld: W, rows: T, cols: d)
        }
        if model.layers.isEmpty { s.update(from: h, count: T * W) } else { for k in 0..<(T * W) { s[k] += h[k] } }
        let out = tape.output.ptr
        StrandOps.copyRows(s, ld: W, to: tape.finalIn.ptr, ld: d, rows: T, cols: d)
        model.normF.forward(tape.finalIn.ptr, ldx: d, rows: T, y: out, ldy: W, threads: 1)
        if rcps {
            StrandOps.reverseComplement(s + d, ld: W, to: tape.rcFinalIn.ptr, ld: d, rows: T, cols: d)
            model.normF.forward(tape.rcFinalIn.ptr, ldx: d, rows: T, y: tape.strand.ptr, ldy: d, threads: 1)
            StrandOps.reverseComplement(tape.strand.ptr, ld: d, to: out + d, ld: W, rows: T, cols: d)
        }
    }

    /// dOutput: (T, outputDim) ∂loss/∂(final hidden states) for the rows `encode` ran on (same tokens, segments
    /// and tape). Adds every backbone gradient into `grads`.
    public static func backwardEncoder(_ model: CaduceusModel, tokens: UnsafePointer<Int>, segments: Segments,
                                       dOutput: UnsafePointer<Float>, grads: ParameterSet, tape: CaduceusTape) {
        let c = model.config, T = segments.length, d = c.dModel, W = model.outputDim, rcps = c.rcps
        if T == 0 { return }
        let g = tape.g.ptr, tmp = tape.strand.ptr, dn = tape.strand2.ptr
        // norm_f, strand 0: its input gradient starts g[:, :d].
        StrandOps.copyRows(dOutput, ld: W, to: tmp, ld: d, rows: T, cols: d)
        model.normF.backward(x: tape.finalIn.ptr, rows: T, dy: tmp, dx: dn, accumulate: false, grads: grads)
        StrandOps.copyRows(dn, ld: d, to: g, ld: W, rows: T, cols: d)
        if rcps {
            StrandOps.reverseComplement(dOutput + d, ld: W, to: tmp, ld: d, rows: T, cols: d)
            model.normF.backward(x: tape.rcFinalIn.ptr, rows: T, dy: tmp, dx: dn, accumulate: false, grads: grads)
            StrandOps.reverseComplement(dn, ld: d, to: g + d, ld: W, rows: T, cols: d)
        }
        let revSegments = segments.reversed()
        for i in stride(from: model.layers.count - 1, through: 0, by: -1) {
            let layer = model.layers[i]
            // g = ∂loss/∂s = ∂loss/∂h; r reaches s directly too, so the norms' input gradients add onto g.
            BiMambaBackward.backward(layer.mixer, x: tape.normed[i].ptr, rows: T, segments: segments, dOut: g, ldo: W,
                                     dx: dn, grads: grads, tape: tape.bi[i], ws: tape.biWS)
            layer.norm.backward(x: tape.normIn[i].ptr, rows: T, dy: dn, dx: tmp, accumulate: false, grads: grads)
            StrandOps.addRows(tmp, ld: d, to: g, ld: W, rows: T, cols: d)
            if rcps {
                StrandOps.reverseComplement(g + d, ld: W, to: tmp, ld: d, rows: T, cols: d)
                BiMambaBackward.backward(layer.mixer, x: tape.rcNormed[i].ptr, rows: T, segments: revSegments,
                                         dOut: tmp, ldo: d, dx: dn, grads: grads, tape: tape.rcBi[i], ws: tape.biWS)
                layer.norm.backward(x: tape.rcNormIn[i].ptr, rows: T, dy: dn, dx: tmp, accumulate: false, grads: grads)
                StrandOps.reverseComplement(tmp, ld: d, to: g + d, ld: W, rows: T, cols: d, accumulate: true)
                if c.fusedAddNorm { StrandOps.swapHalves(g, rows: T, half: d) }
            }
        }
        if rcps {
            RCPS.embedBackward(ids: tokens, count: T, dim: d, complement: model.complementMap, dh: g,
                               dTable: grads.grad(model.embedding))
        } else {
            Embedding.backward(ids: tokens, count: T, dim: d, dy: g, dTable: grads.grad(model.embedding),
                               vocab: model.vocabSize)
        }
    }

    /// LM-head logits (T, V) of `tape.output` into `tape.logits`.
    public static func headForward(_ model: CaduceusModel, tape: CaduceusTape) {
        let T = tape.rows, V = model.vocabSize, d = model.config.dModel, W = model.outputDim
        if model.config.rcps {
            RCPS.headMatrix(weight: model.lmHead.ptr, vocab: V, dim: d, complement: model.complementMap, into: tape.head.ptr)
        }
        let weight = model.config.rcps ? UnsafePointer(tape.head.ptr) : model.lmHead.ptr
        Gemm.linear(x: tape.output.ptr, rows: T, inFeatures: W, weight: weight, outFeatures: V, y: tape.logits.ptr)
    }

    /// Forward, mean cross-entropy over the non-ignored targets (−100 = ignore; masked-LM labels), and
    /// backward: every parameter's gradient is ADDED into `grads`. `divisor`: the batch's total count of
    /// non-ignored targets when a batch is split into shards (default: this call's). Returns the loss.
    @discardableResult
    public static func lossAndGradients(_ model: CaduceusModel, tokens: UnsafePointer<Int>, targets: UnsafePointer<Int>,
                                        segments: Segments, divisor: Int? = nil, grads: ParameterSet,
                                        tape: CaduceusTape) -> Float {
        let T = segments.length, V = model.vocabSize, d = model.config.dModel, W = model.outputDim
        encode(model, tokens: tokens, segments: segments, tape: tape)
        if T == 0 { return 0 }
        headForward(model, tape: tape)
        let loss = CrossEntropy.lossAndGradient(logits: tape.logits.ptr, rows: T, classes: V, targets: targets,
                                                dLogits: tape.dLogits.ptr, divisor: divisor)
        if model.config.rcps {
            let dH = tape.dHead.ptr
            dH.update(repeating: 0, count: V * W)
            LinearBackward.backward(x: tape.output.ptr, rows: T, inFeatures: W, weight: tape.head.ptr, outFeatures: V,
                                    dy: tape.dLogits.ptr, dx: tape.dOutput.ptr, dWeight: dH)
            RCPS.headMatrixBackward(dH: dH, vocab: V, dim: d, complement: model.complementMap,
                                    dWeight: grads.grad(model.lmHead))
        } else {
            LinearBackward.backward(x: tape.output.ptr, rows: T, inFeatures: W, weight: model.lmHead.ptr, outFeatures: V,
                                    dy: tape.dLogits.ptr, dx: tape.dOutput.ptr, dWeight: grads.grad(model.lmHead))
        }
        backwardEncoder(model, tokens: tokens, segments: segments, dOutput: tape.dOutput.ptr, grads: grads, tape: tape)
        return loss
    }
}
