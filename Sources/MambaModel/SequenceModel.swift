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

    /// (L, outputDim) hidden states after the final norm, for one sequence.
    func hiddenStates(_ tokens: [Int32]) -> [Float]
    /// (L, outputDim) for many sequences concatenated in `tokens`, run in one pass; sequences never interact.
    func hiddenStates(packed tokens: [Int32], segments: Segments) -> [Float]
    /// (L, vocabSize) LM-head logits from hidden states of `rows` positions.
    func logits(hidden: [Float], rows: Int) -> [Float]
    /// Writes `config.json` + `model.safetensors` (reference names) into `directory`.
    func save(to directory: String) throws
}

extension SequenceModel {
    public func hiddenStates(_ tokens: [Int32]) -> [Float] {
        hiddenStates(packed: tokens, segments: .single(tokens.count))
    }

    /// (L, vocabSize) logits for one sequence.
    public func logits(_ tokens: [Int32]) -> [Float] {
        logits(hidden: hiddenStates(tokens), rows: tokens.count)
    }
}

/// Threads for the matrix products (OpenBLAS) and the multi-threaded kernels; process-wide.
public func setComputeThreads(_ n: Int) {
    MambaKernels.Gemm.setThreads(max(1, n))
    MambaKernels.KernelThreads.count = max(1, n)
}
