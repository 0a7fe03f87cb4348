import MambaKernels

/// What every loaded checkpoint offers: token ids in, per-position hidden states (and LM logits) out.
public protocol SequenceModel {
    /// "mamba_ssm", "transformers-mamba" or "caduceus".
    var architecture: String { get }
    /// d_model of the backbone.
    var modelDim: Int { get }
    /// Width of one hidden-state row: d_model, or 2·d_model for RCPS Caduceus (forward | reverse-complement strand).
    var outputDim: Int { get }
    /// Rows of the embedding / logits width (padded vocabulary).
    var vocabSize: Int { get }
    /// True when position t depends only on positions ≤ t, so input can be streamed in chunks.
    var isCausal: Bool { get }
    /// Rows processed per block; bounds temporary memory.
    var chunkRows: Int { get set }
    /// The threads a call runs on when it is not told otherwise (every core until set).
    var compute: Compute { get set }

    /// (L, outputDim) hidden states after the final norm, for one sequence.
    func hiddenStates(_ tokens: [Int32]) -> [Float]
    /// (L, outputDim) for many sequences concatenated in `tokens`, run in one pass on `threads` threads; sequences
    /// never interact, and the result does not depend on `threads`.
    func hiddenStates(packed tokens: [Int32], segments: Segments, threads: Int) -> [Float]
    /// (L, vocabSize) LM-head logits from hidden states of `rows` positions.
    func logits(hidden: [Float], rows: Int) -> [Float]
    /// Writes `config.json` + `model.safetensors` (reference names) into `directory`.
    func save(to directory: String) throws
}

extension SequenceModel {
    public func hiddenStates(_ tokens: [Int32]) -> [Float] {
        hiddenStates(packed: tokens, segments: .single(tokens.count))
    }

    /// `hiddenStates(packed:segments:threads:)` on the model's `compute`.
    public func hiddenStates(packed tokens: [Int32], segments: Segments) -> [Float] {
        hiddenStates(packed: tokens, segments: segments, threads: compute.threads)
    }

    /// (L, vocabSize) logits for one sequence.
    public func logits(_ tokens: [Int32]) -> [Float] {
        logits(hidden: hiddenStates(tokens), rows: tokens.count)
    }
}

