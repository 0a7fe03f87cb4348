import MambaModel

/// Scratch of one classifier forward/backward over a packed shard, reused across steps.
public final class ClassifierTape {
    public let encoder = MambaLMTape()
    public let caduceus = CaduceusTape()
    let features = Scratch(), dHidden = Scratch()   // RCPS: the strands' mean (T, d) and ∂loss/∂states (T, 2d)
    let pooled = Scratch(), logits = Scratch(), dLogits = Scratch(), dPooled = Scratch(), dOutput = Scratch()
    let positionLogits = Scratch(), dPositionLogits = Scratch()
    public init() {}
}

/// Loss and gradients of `SequenceClassifier` on R sequences packed into T rows:
///
///   out = encoder(tokens) (T, d) (RCPS Caduceus: the mean of its (T, 2d) states' two strands)
///   pooled[r] = mean of out over sequence r (R, d)
///   logits = pooled·Wᵀ + b (R, C);  loss = Σ_r CE(logits[r], label[r]) / divisor
///
/// Backward: dW += dLogitsᵀ·pooled, db += Σ dLogits, dPooled = dLogits·W, and every row of sequence r gets
/// dPooled[r] / length_r, which then goes back through the encoder.
///
/// `.max` / `.logsumexp` pooling: z = out·Wᵀ + b (T, C); logits[r, c] = pool of z[t, c] over sequence r.
/// Backward: dz = the pooling's backward of dLogits (per sequence), dW += dzᵀ·out, db += Σ dz,
/// dOutput = dz·W.
public enum ClassifierBackward {
    public struct Result { public var loss: Float; public var correct: Int }

    /// tokens: (T) ids; lengths: (R) rows per sequence, summing to T; labels: (R) class indices.
    /// `divisor`: the batch's total sequence count when a batch is split into shards (default R).
    /// Gradients are ADDED into `grads`. `loss` is this shard's Σ CE / divisor.
    @discardableResult
    public static func lossAndGradients(_ model: SequenceClassifier, tokens: [Int], lengths: [Int], labels: [Int],
                                        divisor: Int? = nil, grads: ParameterSet, tape: ClassifierTape) -> Result {
        let T = tokens.count, R = lengths.count, d = model.dModel, C = model.classCount
        precondition(labels.count == R && lengths.reduce(0, +) == T && lengths.allSatisfy { $0 > 0 })
        if T == 0 { return Result(loss: 0, correct: 0) }
        var resets = [UInt8](repeating: 0, count: T)
        var row = 0
        for n in lengths { resets[row] = 1; row += n }
        let pooled = tape.pooled.reserve(R * d), logits = tape.logits.reserve(R * C)
        let dLogits = tape.dLogits.reserve(R * C), dPooled = tape.dPooled.reserve(R * d)
        let dOutput = tape.dOutput.reserve(T * d)
        var result = Result(loss: 0, correct: 0)
        tokens.withUnsafeBufferPointer { tk in
            resets.withUnsafeBufferPointer { rs in
                let out = encode(model.encoder, tokens: tk.baseAddress!, lengths: lengths, resetBefore: rs.baseAddress!,
                                 tape: tape)
                if model.pooling != .mean {
                    pooledLoss(model, out: out, lengths: lengths, labels: labels, divisor: divisor ?? R, grads: grads,
                               tape: tape, dOutput: dOutput, result: &result)
                } else {
                    row = 0
                    for (r, n) in lengths.enumerated() {
                        MeanPool.forward(x: out + row * d, rows: n, channels: d, y: pooled + r * d)
                        row += n
                    }
                    Gemm.linear(x: pooled, rows: R, inFeatures: d, weight: model.head.ptr, bias: model.headBias.ptr,
                                outFeatures: C, y: logits)
                    crossEntropy(logits, dLogits, rows: R, classes: C, labels: labels, divisor: divisor ?? R,
                                 result: &result)
                    LinearBackward.backward(x: pooled, rows: R, inFeatures: d, weight: model.head.ptr, outFeatures: C,
                                            dy: dLogits, dx: dPooled, dWeight: grads.grad(model.head),
                                            dBias: grads.grad(model.headBias))
                    row = 0
                    for (r, n) in lengths.enumerated() {
                        MeanPool.backward(dy: dPooled + r * d, rows: n, channels: d, dx: dOutput + row * d)
                        row += n
                    }
                }
                backwardEncoder(model.encoder, tokens: tk.baseAddress!, lengths: lengths, resetBefore: rs.baseAddress!,
                                dOutput: dOutput, grads: grads, tape: tape)
            }
        }
        return result
    }

    /// The training forward of the backbone: the (T, d) features the head reads (`ClassifierEncoder`).
    static func encode(_ encoder: ClassifierEncoder, tokens: UnsafePointer<Int>, lengths: [Int],
                       resetBefore: UnsafePointer<UInt8>, tape: ClassifierTape) -> UnsafePointer<Float> {
        let T = lengths.reduce(0, +)
        switch encoder {
        case .mamba(let m):
            MambaLMBackward.encode(m, tokens: tokens, rows: T, resetBefore: resetBefore, tape: tape.encoder)
            return UnsafePointer(tape.encoder.output.ptr)
        case .caduceus(let m):
            CaduceusBackward.encode(m, tokens: tokens, segments: Segments(lengths: lengths), tape: tape.caduceus)
            guard m.config.rcps else { return UnsafePointer(tape.caduceus.output.ptr) }
            let e = tape.features.reserve(T * m.config.dModel)
            ClassifierEncoder.mergeStrands(tape.caduceus.output.ptr, rows: T, dim: m.config.dModel, into: e)
            return UnsafePointer(e)
        }
    }

    /// dOutput: (T, d) ∂loss/∂features of the rows `encode` ran on; adds every backbone gradient into `grads`.
    static func backwardEncoder(_ encoder: ClassifierEncoder, tokens: UnsafePointer<Int>, lengths: [Int],
                                resetBefore: UnsafePointer<UInt8>, dOutput: UnsafePointer<Float>, grads: ParameterSet,
                                tape: ClassifierTape) {
        let T = lengths.reduce(0, +)
        switch encoder {
        case .mamba(let m):
            MambaLMBackward.backwardEncoder(m, tokens: tokens, rows: T, resetBefore: resetBefore, dOutput: dOutput,
                                            grads: grads, tape: tape.encoder)
        case .caduceus(let m):
            var dHidden = dOutput
            if m.config.rcps {
                let dh = tape.dHidden.reserve(T * 2 * m.config.dModel)
                ClassifierEncoder.mergeStrandsBackward(dOutput, rows: T, dim: m.config.dModel, into: dh)
                dHidden = UnsafePointer(dh)
            }
            CaduceusBackward.backwardEncoder(m, tokens: tokens, segments: Segments(lengths: lengths), dOutput: dHidden,
                                             grads: grads, tape: tape.caduceus)
        }
    }

    /// Loss, accuracy and dLogits of (R, C) logits.
    static func crossEntropy(_ logits: UnsafeMutablePointer<Float>, _ dLogits: UnsafeMutablePointer<Float>, rows R: Int,
                             classes C: Int, labels: [Int], divisor: Int, result: inout Result) {
        for r in 0..<R {
            var best = 0
            for c in 1..<C where logits[r * C + c] > logits[r * C + best] { best = c }
            if best == labels[r] { result.correct += 1 }
        }
        result.loss = labels.withUnsafeBufferPointer {
            CrossEntropy.lossAndGradient(logits: logits, rows: R, classes: C, targets: $0.baseAddress!,
                                         dLogits: dLogits, divisor: divisor)
        }
    }

    /// The head at every row of `out` (T, d), pooled per sequence; writes dOutput (T, d) and adds the head's
    /// gradients.
    static func pooledLoss(_ model: SequenceClassifier, out: UnsafePointer<Float>, lengths: [Int], labels: [Int],
                           divisor: Int, grads: ParameterSet, tape: ClassifierTape, dOutput: UnsafeMutablePointer<Float>,
                           result: inout Result) {
        let T = lengths.reduce(0, +), R = lengths.count, d = model.dModel, C = model.classCount
        let z = tape.positionLogits.reserve(T * C), dz = tape.dPositionLogits.reserve(T * C)
        let logits = tape.logits.reserve(R * C), dLogits = tape.dLogits.reserve(R * C)
        Gemm.linear(x: out, rows: T, inFeatures: d, weight: model.head.ptr, bias: model.headBias.ptr,
                    outFeatures: C, y: z)
        var row = 0
        for (r, n) in lengths.enumerated() {
            model.pooling.forward(z: z + row * C, rows: n, classes: C, y: logits + r * C)
            row += n
        }
        crossEntropy(logits, dLogits, rows: R, classes: C, labels: labels, divisor: divisor, result: &result)
        row = 0
        for (r, n) in lengths.enumerated() {
            model.pooling.backward(z: z + row * C, y: logits + r * C, dy: dLogits + r * C, rows: n, classes: C,
                                   dz: dz + row * C)
            row += n
        }
        LinearBackward.backward(x: out, rows: T, inFeatures: d, weight: model.head.ptr, outFeatures: C,
                                dy: dz, dx: dOutput, dWeight: grads.grad(model.head), dBias: grads.grad(model.headBias))
    }
}
