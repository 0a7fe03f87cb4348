import MambaModel

/// BERT-style masking as Caduceus pretrains (src/dataloaders/utils/mlm.py): each position is chosen with
/// probability `probability` (15 %); a chosen position becomes [MASK] (80 %), a random base A/C/G/T (10 %)
/// or stays as it is (10 %), and its target is the original id. Every other target is −100 (ignored), so
/// the loss covers the chosen positions only.
public enum MaskedLMMasking {
    public static func mask(_ tokens: [Int32], probability: Double = 0.15,
                            rng: inout RandomSource) -> (inputs: [Int], targets: [Int]) {
        var inputs = tokens.map(Int.init)
        var targets = [Int](repeating: CrossEntropy.ignoreIndex, count: tokens.count)
        for t in tokens.indices where rng.nextDouble() < probability {
            targets[t] = inputs[t]
            let u = rng.nextDouble()
            if u < 0.8 { inputs[t] = Int(DNATokenizer.mask) }
            else if u < 0.9 { inputs[t] = Int(DNATokenizer.a) + rng.nextInt(below: 4) }
        }
        return (inputs, targets)
    }
}

/// Scratch of one masked-LM forward/backward, reused across steps.
public final class MaskedLMTape {
    let caduceus = CaduceusTape()
    let mamba = MambaLMTape()
    public init() {}
}

/// A model that masked-LM training can run: Caduceus (`CaduceusForMaskedLM`) or a Mamba LM
/// (`MambaLMHeadModel`, causal: it predicts a masked base from the bases before it only).
public enum MaskedLMNetwork {
    case caduceus(CaduceusModel)
    case mamba(MambaLMModel)

    /// The trainable tensors under their checkpoint names (a tensor used twice, like a tied head, listed once
    /// or under both names; `ParameterSet` keeps one parameter per tensor).
    public var namedTensors: [(String, Tensor)] {
        switch self {
        case .caduceus(let m): return CaduceusBackward.namedTensors(m)
        case .mamba(let m): return m.namedTensors()
        }
    }

    public var model: any SequenceModel {
        switch self {
        case .caduceus(let m): return m
        case .mamba(let m): return m
        }
    }

    /// Masked-LM loss over sequences of `lengths` packed in `inputs`/`targets`, gradients ADDED into `grads`.
    /// Returns Σ CE over this call's targets / `divisor`.
    public func lossAndGradients(inputs: [Int], targets: [Int], lengths: [Int], divisor: Int, grads: ParameterSet,
                                 tape: MaskedLMTape) -> Float {
        precondition(inputs.count == targets.count && lengths.reduce(0, +) == inputs.count)
        let segments = Segments(lengths: lengths)
        return inputs.withUnsafeBufferPointer { tk in
            targets.withUnsafeBufferPointer { tg in
                switch self {
                case .caduceus(let m):
                    return CaduceusBackward.lossAndGradients(m, tokens: tk.baseAddress!, targets: tg.baseAddress!,
                                                             segments: segments, divisor: divisor, grads: grads,
                                                             tape: tape.caduceus)
                case .mamba(let m):
                    return segments.forwardResets.withUnsafeBufferPointer { rs in
                        MambaLMBackward.lossAndGradients(m, tokens: tk.baseAddress!, targets: tg.baseAddress!,
                                                         rows: inputs.count, resetBefore: rs.baseAddress,
                                                         divisor: divisor, grads: grads, tape: tape.mamba)
                    }
                }
            }
        }
    }

    /// Σ CE over the non-ignored targets, their count, and how many of them the argmax of the logits gets
    /// right (evaluation; no gradients).
    public func lossSum(inputs: [Int], targets: [Int], lengths: [Int],
                        tape: MaskedLMTape) -> (sum: Double, count: Int, correct: Int) {
        let segments = Segments(lengths: lengths), T = inputs.count
        let count = targets.lazy.filter { $0 != CrossEntropy.ignoreIndex }.count
        if T == 0 || count == 0 { return (0, 0, 0) }
        let sum: Float = inputs.withUnsafeBufferPointer { tk in
            targets.withUnsafeBufferPointer { tg in
                switch self {
                case .caduceus(let m):
                    CaduceusBackward.encode(m, tokens: tk.baseAddress!, segments: segments, tape: tape.caduceus)
                    CaduceusBackward.headForward(m, tape: tape.caduceus)
                    return CrossEntropy.forward(logits: tape.caduceus.logits.ptr, rows: T, classes: m.vocabSize,
                                                targets: tg.baseAddress!, divisor: 1)
                case .mamba(let m):
                    return segments.forwardResets.withUnsafeBufferPointer { rs in
                        MambaLMBackward.forward(m, tokens: tk.baseAddress!, rows: T, resetBefore: rs.baseAddress,
                                                tape: tape.mamba)
                        return CrossEntropy.forward(logits: tape.mamba.logits.ptr, rows: T, classes: m.vocabSize,
                                                    targets: tg.baseAddress!, divisor: 1)
                    }
                }
            }
        }
        let V = model.vocabSize, logits: UnsafePointer<Float>
        switch self {
        case .caduceus: logits = UnsafePointer(tape.caduceus.logits.ptr)
        case .mamba: logits = UnsafePointer(tape.mamba.logits.ptr)
        }
        var correct = 0
        for t in 0..<T where targets[t] != CrossEntropy.ignoreIndex {
            let row = logits + t * V
            var best = 0
            for v in 1..<V where row[v] > row[best] { best = v }
            if best == targets[t] { correct += 1 }
        }
        return (Double(sum), count, correct)
    }
}

extension MaskedLMNetwork {
    /// (T, outputDim) final hidden states of one sequence through the training forward.
    public func trainingHiddenStates(_ tokens: [Int]) -> [Float] {
        let tape = MaskedLMTape(), T = tokens.count
        if T == 0 { return [] }
        return tokens.withUnsafeBufferPointer { tk in
            switch self {
            case .caduceus(let m):
                CaduceusBackward.encode(m, tokens: tk.baseAddress!, segments: .single(T), tape: tape.caduceus)
                return Array(UnsafeBufferPointer(start: tape.caduceus.output.ptr, count: T * m.outputDim))
            case .mamba(let m):
                MambaLMBackward.encode(m, tokens: tk.baseAddress!, rows: T, resetBefore: nil, tape: tape.mamba)
                return Array(UnsafeBufferPointer(start: tape.mamba.output.ptr, count: T * m.outputDim))
            }
        }
    }
}
