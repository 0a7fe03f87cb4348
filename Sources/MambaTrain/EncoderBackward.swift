import MambaModel

/// The backbone alone (embedding → blocks → norm_f), for heads other than the LM head: `encode` fills the
/// tape up to `tape.output` (T, d) without computing vocabulary logits, and `backwardEncoder` takes the
/// gradient of the loss with respect to that output and adds every backbone gradient into `grads`.
extension MambaLMBackward {
    public static func encode(_ model: MambaLMModel, tokens: UnsafePointer<Int>, rows T: Int,
                              resetBefore: UnsafePointer<UInt8>?, tape: MambaLMTape) {
        let d = model.config.dModel, vocab = model.vocabSize
        tape.reserve(layers: model.layers.count, rows: T, dim: d, vocab: vocab)
        let h = tape.hidden.ptr
        Embedding.forward(table: model.embedding.ptr, vocab: vocab, dim: d, ids: tokens, count: T,
                          y: tape.residual.first?.ptr ?? tape.finalResidual.ptr)
        for (i, layer) in model.layers.enumerated() {
            let r = tape.residual[i].ptr, x = tape.normed[i].ptr
            if i > 0 { add(tape.residual[i - 1].ptr, h, into: r, count: T * d) }
            layer.norm.forward(r, ldx: d, rows: T, y: x, ldy: d, threads: 1)
            layer.mixer.forward(x, ldh: d, rows: T, out: h, ldo: d, state: nil, resetBefore: resetBefore,
                                act: tape.acts[i], threads: 1)
        }
        if let last = tape.residual.prefix(model.layers.count).last {
            add(last.ptr, h, into: tape.finalResidual.ptr, count: T * d)
        }
        model.normF.forward(tape.finalResidual.ptr, ldx: d, rows: T, y: tape.output.ptr, ldy: d, threads: 1)
    }

    /// dOutput: (T, d) ∂loss/∂(norm_f output) for the rows `encode` ran on (same tokens, resets and tape).
    public static func backwardEncoder(_ model: MambaLMModel, tokens: UnsafePointer<Int>, rows T: Int,
                                       resetBefore: UnsafePointer<UInt8>?, dOutput: UnsafePointer<Float>,
                                       grads: ParameterSet, tape: MambaLMTape) {
        let d = model.config.dModel
        let g = tape.dResidual.ptr
        model.normF.backward(x: tape.finalResidual.ptr, rows: T, dy: dOutput, dx: g, accumulate: false, grads: grads)
        for i in stride(from: model.layers.count - 1, through: 0, by: -1) {
            let layer = model.layers[i]
            MambaMixerBackward.backward(layer.mixer, h: tape.normed[i].ptr, ldh: d, rows: T, act: tape.acts[i],
                                        resetBefore: resetBefore, dOut: g, ldo: d, dh: tape.dNormed.ptr, lddh: d,
                                        grads: grads, ws: tape.mixerWS)
            layer.norm.backward(x: tape.residual[i].ptr, rows: T, dy: tape.dNormed.ptr, dx: g, accumulate: true,
                                grads: grads)
        }
        Embedding.backward(ids: tokens, count: T, dim: d, dy: g, dTable: grads.grad(model.embedding),
                           vocab: model.vocabSize)
    }

    /// y = a + b over `count` values (the residual stream).
    private static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                            count: Int) {
        for i in 0..<count { y[i] = a[i] + b[i] }
    }
}
