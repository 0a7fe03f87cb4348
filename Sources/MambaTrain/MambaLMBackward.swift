import MambaModel

/// What the training forward of a `MambaLMModel` keeps for the backward pass (T rows).
public final class MambaLMTape {
    var residual: [Scratch] = []       // per layer: r_i (T, d), the norm input
    var normed: [Scratch] = []         // per layer: x_i = norm_i(r_i) (T, d), the mixer input
    var acts: [MixerActivations] = []  // per layer: the mixer's activations
    let hidden = Scratch()             // (T, d) mixer output of the current layer
    let finalResidual = Scratch()      // (T, d) r_L + h_L, the norm_f input
    public let output = Scratch()      // (T, d) norm_f output
    public let logits = Scratch()      // (T, vocab)
    let dLogits = Scratch(), dOut = Scratch(), dResidual = Scratch(), dNormed = Scratch()
    let mixerWS = MambaMixerBackward.Workspace()
    public private(set) var rows = 0
    public init() {}

    func reserve(layers: Int, rows T: Int, dim d: Int, vocab: Int) {
        while residual.count < layers { residual.append(Scratch()); normed.append(Scratch()); acts.append(MixerActivations()) }
        for s in residual + normed + [hidden, finalResidual, output, dOut, dResidual, dNormed] { s.reserve(T * d) }
        logits.reserve(T * vocab); dLogits.reserve(T * vocab)
        rows = T
    }
}

/// Training forward and backward of `MambaLMModel` (mamba_ssm MixerModel + tied LM head):
///
///   r₀ = embed(ids);  per layer i: x_i = norm_i(r_i), h_i = mixer_i(x_i), r_{i+1} = r_i + h_i
///   out = norm_f(r_L);  logits = out·W_headᵀ;  loss = cross-entropy(logits, targets)
///
/// Backward keeps one residual-stream gradient g = ∂loss/∂r_i: since r_{i+1} = r_i + h_i, the same g is the
/// gradient of both r_i and h_i, and each layer adds norm_iᵀ(mixer_iᵀ(g)) to it on the way down.
/// Packed batches: several sequences in one buffer, `resetBefore[t] != 0` at each start.
public enum MambaLMBackward {
    /// Forward over T tokens, keeping activations in `tape`; logits in `tape.logits` (T, vocab).
    public static func forward(_ model: MambaLMModel, tokens: UnsafePointer<Int>, rows T: Int,
                               resetBefore: UnsafePointer<UInt8>?, tape: MambaLMTape) {
        encode(model, tokens: tokens, rows: T, resetBefore: resetBefore, tape: tape)
        let d = model.config.dModel, vocab = model.vocabSize
        Gemm.linear(x: tape.output.ptr, rows: T, inFeatures: d, weight: model.lmHead.ptr, outFeatures: vocab,
                    y: tape.logits.ptr)
    }

    /// Forward, mean cross-entropy over the non-ignored targets (−100 = ignore), and backward: every
    /// parameter's gradient is ADDED into `grads` (zero them first for a fresh step). Returns the loss.
    /// `divisor`: the batch's total count of non-ignored targets when a batch is split into shards.
    @discardableResult
    public static func lossAndGradients(_ model: MambaLMModel, tokens: UnsafePointer<Int>, targets: UnsafePointer<Int>,
                                        rows T: Int, resetBefore: UnsafePointer<UInt8>?, divisor: Int? = nil,
                                        grads: ParameterSet, tape: MambaLMTape) -> Float {
        forward(model, tokens: tokens, rows: T, resetBefore: resetBefore, tape: tape)
        let d = model.config.dModel, vocab = model.vocabSize
        let loss = CrossEntropy.lossAndGradient(logits: tape.logits.ptr, rows: T, classes: vocab, targets: targets,
                                                dLogits: tape.dLogits.ptr, divisor: divisor)
        // logits = out·W_headᵀ (the head may be the embedding tensor: then both uses add into one gradient)
        LinearBackward.backward(x: tape.output.ptr, rows: T, inFeatures: d, weight: model.lmHead.ptr,
                                outFeatures: vocab, dy: tape.dLogits.ptr, dx: tape.dOut.ptr,
                                dWeight: grads.grad(model.lmHead))
        backwardEncoder(model, tokens: tokens, rows: T, resetBefore: resetBefore, dOutput: tape.dOut.ptr,
                        grads: grads, tape: tape)
        return loss
    }
}
