import MambaKernels

/// mamba_ssm `MixerModel` + `MambaLMHeadModel` (and transformers `MambaForCausalLM`, same math):
///
///   h = embedding(ids); r = 0
///   per block:  r = r + h;  h = mixer(norm(r))          (pre-norm residual; the residual stays fp32)
///   out = norm_f(r + h);    logits = out · lm_headᵀ      (lm_head tied to the embedding)
public struct MambaLMModel: SequenceModel {
    public struct Layer {
        public var norm: NormLayer
        public var mixer: MambaMixer
    }

    public let config: MambaLMConfig
    public var embedding: Tensor  // (paddedVocab, dModel)
    public var layers: [Layer]
    public var normF: NormLayer
    public var lmHead: Tensor     // (paddedVocab, dModel); the embedding itself when tied
    /// Threads of a call that is not told otherwise; setting it also sets `chunkRows` for that many threads.
    public var compute = Compute.allCores { didSet { chunkRows = Self.defaultChunkRows(threads: compute.threads) } }
    /// Rows per streamed block: 8,192, or 4,096 per thread of `compute` when there are more than two (so that the
    /// layer pipeline has 8 tiles or more per worker and idles little while it fills, and every thread's time slice
    /// is long enough for efficient products).
    public var chunkRows = MambaLMModel.defaultChunkRows(threads: Compute.allCores.threads)
    static func defaultChunkRows(threads: Int) -> Int { Swift.max(8192, 4096 * threads) }
    /// Whether long chunks run as a layer pipeline over threads (`forwardPipelined`); off, every layer runs with
    /// all threads on its time slices and channel blocks. Same result either way.
    public var layerPipeline = true
    /// Rows per pipeline tile: few enough that a tile's activations stay cached in a worker, enough that
    /// OpenBLAS's per-call packing of the weights stays small (on the 16-core Xeon, 128 and 256 rows cost more
    /// CPU per token, 1,024 idled the pipeline longer).
    public var pipelineTileRows = 512

    public var architecture: String { config.layout == .mambaSSM ? "mamba_ssm" : "transformers-mamba" }
    public var modelDim: Int { config.dModel }
    public var outputDim: Int { config.dModel }
    public var vocabSize: Int { embedding.shape[0] }
    public var isCausal: Bool { true }

    public init(config: MambaLMConfig, embedding: Tensor, layers: [Layer], normF: NormLayer, lmHead: Tensor) {
        self.config = config; self.embedding = embedding; self.layers = layers; self.normF = normF; self.lmHead = lmHead
    }

    /// Parameter names: mamba_ssm `backbone.embedding.weight` or transformers `backbone.embeddings.weight`;
    /// everything else is shared (`backbone.layers.N.{norm,mixer}.*`, `backbone.norm_f.*`, `lm_head.weight`).
    public static func load(_ store: WeightStore, config c: MambaLMConfig) throws -> MambaLMModel {
        let vocab = c.paddedVocabSize, d = c.dModel
        let preferred = c.layout == .mambaSSM ? "backbone.embedding.weight" : "backbone.embeddings.weight"
        let other = c.layout == .mambaSSM ? "backbone.embeddings.weight" : "backbone.embedding.weight"
        let embName = store.has(preferred) || !store.has(other) ? preferred : other
        let emb = try store.tensor(embName, shape: [vocab, d])
        var layers: [Layer] = []
        for i in 0..<c.nLayer {
            let p = "backbone.layers.\(i)."
            layers.append(Layer(norm: try NormLayer.load(store, prefix: p + "norm.", kind: c.norm, dim: d, eps: c.normEpsilon),
                                mixer: try MambaMixer.load(store, prefix: p + "mixer.", config: c.mixer)))
        }
        let normF = try NormLayer.load(store, prefix: "backbone.norm_f.", kind: c.norm, dim: d, eps: c.normEpsilon)
        // Tied heads may or may not be stored (state_dict keeps the alias, save_pretrained drops it).
        let head: Tensor
        if c.tieEmbeddings {
            head = emb
            if let shape = store.shape("lm_head.weight"), shape != [vocab, d] {
                throw ModelError.shapeMismatch(path: store.path(of: "lm_head.weight"), name: "lm_head.weight",
                                               expected: [vocab, d], actual: shape)
            }
        } else {
            head = try store.tensor("lm_head.weight", shape: [vocab, d])
        }
        return MambaLMModel(config: c, embedding: emb, layers: layers, normF: normF, lmHead: head)
    }

    /// Rows per product in the per-position phases: few enough that a block's activations are still cached from one
    /// step to the next, enough that OpenBLAS's per-call packing of the weights stays small (512 measured ≈2% slower
    /// on packed reads).
    static let rowBlock = 1024

    public func makeStates() -> [MixerState] { layers.map { MixerState($0.mixer.config) } }

    /// T tokens through the stack: out (T, dModel). `states` (one per layer) carry conv history and scan state
    /// across calls; `resetBefore` (T) marks packed-sequence starts.
    ///
    /// Threads (`threads` of them): per layer, the per-position work runs in T/threads-row time slices, one worker per slice with
    /// single-threaded products (out_proj + residual of the layer before, norm and in_proj in one fork; conv,
    /// SiLU, x_proj and dt_proj in a second), and the scan runs over channel blocks. OpenBLAS stays on one thread
    /// throughout, so its pool never competes with the workers.
    public func forwardChunk(_ tokens: UnsafePointer<Int32>, rows T: Int, resetBefore: UnsafePointer<UInt8>?,
                             states: [MixerState], out: UnsafeMutablePointer<Float>, ws: MambaLMWorkspace, threads: Int) {
        if T == 0 { return }
        let workers = pipelineWorkers(rows: T, threads: threads)
        if workers > 1 {
            forwardPipelined(tokens, rows: T, resetBefore: resetBefore, states: states, out: out, ws: ws, workers: workers)
            return
        }
        let d = config.dModel
        let r = ws.residual.reserve(T * d)   // (T, d) residual stream
        let x = ws.normed.reserve(T * d)     // (T, d) norm(r), the mixer input
        let act = ws.act
        act.reserve(rows: T, config.mixer)
        nonisolated(unsafe) let out = out
        do {
            // Rows `rr` after layer i−1's mixer: add its out_proj into the residual stream (one pass over r fewer
            // than a separate output buffer), then layer i's norm and in_proj, or the final norm after the last layer.
            // In blocks of `rowBlock` rows, so that a block's rows are still cached from one step to the next.
            func finishRows(_ i: Int, _ rr: Range<Int>) {
                let a = rr.lowerBound, n = rr.count
                if i == 0 { Ops.embed(tokens + a, count: n, table: embedding, dim: d, out: r + a * d, ld: d) }
                else { layers[i - 1].mixer.outProjectRows(act.y.ptr, rows: rr, out: r, ldo: d, accumulate: true) }
                if i < layers.count {
                    layers[i].norm.forward(r + a * d, ldx: d, rows: n, y: x + a * d, ldy: d, threads: 1)
                    layers[i].mixer.inProjectRows(x, ldh: d, rows: rr, into: act)
                } else {
                    normF.forward(r + a * d, ldx: d, rows: n, y: out + a * d, ldy: d, threads: 1)
                }
            }
            for i in 0...layers.count {
                if i > 0 { layers[i - 1].mixer.core(act, rows: T, state: states[i - 1], resetBefore: resetBefore, threads: threads) }
                Parallel.rowSlices(T, threads: threads) { rr in
                    var a = rr.lowerBound
                    while a < rr.upperBound {
                        let b = Swift.min(a + MambaLMModel.rowBlock, rr.upperBound)
                        finishRows(i, a..<b)
                        a = b
                    }
                }
            }
        }
    }

    /// Pipeline workers for T rows on `threads` threads: one per thread, at most one per layer, when there are at
    /// least 4 tiles per worker (the pipeline idles about (workers − 1) tile-times while it fills and drains); else 1
    /// (no pipeline).
    func pipelineWorkers(rows T: Int, threads: Int) -> Int {
        let p = Swift.min(threads, layers.count)
        return layerPipeline && p >= 2 && T >= 4 * p * pipelineTileRows ? p : 1
    }

    /// `forwardChunk` as a pipeline over the layers: the T rows are cut into tiles of `pipelineTileRows`, and
    /// (layer, tile) items run on `workers` threads as a wavefront (`WavefrontSchedule`): layer i takes tile k
    /// once layer i − 1 has finished it and layer i has finished tile k − 1 (its conv history and scan state pass
    /// from tile to tile). Each item is norm, in_proj, conv, scan and out_proj into the residual stream, single-
    /// threaded; workers prefer their own layers, so those weights and a tile's activations stay in their cache,
    /// and the scan reads whole rows. The result does not depend on which worker runs an item.
    func forwardPipelined(_ tokens: UnsafePointer<Int32>, rows T: Int, resetBefore: UnsafePointer<UInt8>?,
                          states: [MixerState], out: UnsafeMutablePointer<Float>, ws: MambaLMWorkspace, workers: Int) {
        let d = config.dModel, R = pipelineTileRows, tiles = (T + R - 1) / R, L = layers.count
        nonisolated(unsafe) let r = ws.residual.reserve(T * d)   // (T, d) residual stream, tile k in rows kR..<kR+R
        nonisolated(unsafe) let out = out
        let work = ws.workerWorkspaces(workers, rows: R, config.mixer)
        let schedule = WavefrontSchedule(groups: L, tiles: tiles)
        Parallel.run(workers) { w in
            let (act, x) = work[w]
            while let item = schedule.next(home: w * L / workers) {
                let (i, k) = (item.group, item.tile)
                let a = k * R, n = Swift.min(R, T - a), rt = r + a * d
                if i == 0 { Ops.embed(tokens + a, count: n, table: embedding, dim: d, out: rt, ld: d) }
                let m = layers[i].mixer
                layers[i].norm.forward(rt, ldx: d, rows: n, y: x, ldy: d, threads: 1)
                m.inProjectRows(x, ldh: d, rows: 0..<n, into: act)
                m.core(act, rows: n, state: states[i], resetBefore: resetBefore.map { $0 + a }, threads: 1)
                m.outProjectRows(act.y.ptr, rows: 0..<n, out: rt, ldo: d, accumulate: true)
                if i == L - 1 { normF.forward(rt, ldx: d, rows: n, y: out + a * d, ldy: d, threads: 1) }
                schedule.finish(group: i)
            }
        }
    }

    /// Sequences run in blocks of whole sequences, shared out over threads when there are several
    /// (`PackedParallel`); the result does not depend on the thread count.
    public func hiddenStates(packed tokens: [Int32], segments: Segments, threads: Int) -> [Float] {
        precondition(tokens.count == segments.length, "tokens and segments differ in length")
        let d = config.dModel, L = tokens.count
        if L == 0 { return [] }
        let blocks = segments.blocks(rows: PackedParallel.blockRows(chunkRows: chunkRows))
        return [Float](unsafeUninitializedCapacity: L * d) { o, n in
            nonisolated(unsafe) let out = o.baseAddress!
            tokens.withUnsafeBufferPointer { tk in
                nonisolated(unsafe) let tokens = tk.baseAddress!
                PackedParallel.run(blocks, threads: threads, makeWorker: { StreamingEncoder(model: self, threads: $0) }) {
                    enc, offset, segs in
                    enc.reset()
                    segs.forwardResets.withUnsafeBufferPointer { rs in
                        enc.consume(tokens + offset, count: segs.length, resetBefore: rs.baseAddress, into: out + offset * d)
                    }
                }
            }
            n = L * d
        }
    }

    public func logits(hidden: [Float], rows: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * vocabSize)
        hidden.withUnsafeBufferPointer { h in
            out.withUnsafeMutableBufferPointer { o in
                Gemm.linear(x: h.baseAddress!, rows: rows, inFeatures: config.dModel, weight: lmHead.ptr,
                            outFeatures: vocabSize, y: o.baseAddress!, threads: compute.threads)
            }
        }
        return out
    }

    /// All parameters under their reference names, in `state_dict` order.
    public func namedTensors() -> [(String, Tensor)] {
        var t: [(String, Tensor)] = [(config.layout == .mambaSSM ? "backbone.embedding.weight" : "backbone.embeddings.weight", embedding)]
        for (i, l) in layers.enumerated() {
            t += l.norm.tensors(prefix: "backbone.layers.\(i).norm.")
            t += l.mixer.tensors(prefix: "backbone.layers.\(i).mixer.")
        }
        t += normF.tensors(prefix: "backbone.norm_f.")
        // mamba_ssm's state_dict keeps the tied alias; transformers' saver drops it.
        if config.layout == .mambaSSM || !config.tieEmbeddings { t.append(("lm_head.weight", lmHead)) }
        return t
    }

    public func save(to directory: String) throws {
        try Checkpoint.write(config: ModelConfig.mamba(config).json(), tensors: namedTensors(), to: directory)
    }
}

/// Scratch for `MambaLMModel.forwardChunk`, reused across chunks.
public final class MambaLMWorkspace {
    let residual = Scratch(), normed = Scratch()
    public let act = MixerActivations()
    /// One (activations, normed rows) pair per pipeline worker.
    private var workers: [(MixerActivations, Scratch)] = []
    public init() {}

    /// `count` worker workspaces, each sized for `rows` rows of mixer `c`: (activations, pointer to rows × dModel).
    func workerWorkspaces(_ count: Int, rows: Int, _ c: MixerConfig) -> [(MixerActivations, UnsafeMutablePointer<Float>)] {
        while workers.count < count { workers.append((MixerActivations(), Scratch())) }
        return workers.prefix(count).map { act, x in
            act.reserve(rows: rows, c)
            return (act, x.reserve(rows * c.dModel))
        }
    }
}

/// Runs a causal model over input of any length in fixed-size chunks. Each layer carries dConv−1 conv rows and
/// its (dInner, dState) scan state between chunks, so memory does not grow with the length: feed a chunk, write
/// its hidden rows out, feed the next.
public final class StreamingEncoder {
    public let model: MambaLMModel
    /// Threads each chunk runs on.
    public let threads: Int
    private let states: [MixerState]
    private let ws = MambaLMWorkspace()

    /// An encoder on `threads` threads (default: the model's `compute`).
    public init(model: MambaLMModel, threads: Int? = nil) {
        self.model = model
        self.threads = Swift.max(1, threads ?? model.compute.threads)
        states = model.makeStates()
    }

    /// Starts a new sequence.
    public func reset() { states.forEach { $0.reset() } }

    /// Hidden states (T, dModel) of the next T tokens of the current sequence.
    public func consume(_ tokens: [Int32]) -> [Float] {
        var out = [Float](repeating: 0, count: tokens.count * model.config.dModel)
        tokens.withUnsafeBufferPointer { tk in
            out.withUnsafeMutableBufferPointer { consume(tk.baseAddress!, count: tk.count, resetBefore: nil, into: $0.baseAddress!) }
        }
        return out
    }

    /// Writes (count, dModel) rows into `out`; internally in blocks of `model.chunkRows`.
    public func consume(_ tokens: UnsafePointer<Int32>, count: Int, resetBefore: UnsafePointer<UInt8>?,
                        into out: UnsafeMutablePointer<Float>) {
        let d = model.config.dModel
        var a = 0
        while a < count {
            let n = min(max(model.chunkRows, 1), count - a)
            model.forwardChunk(tokens + a, rows: n, resetBefore: resetBefore.map { $0 + a }, states: states,
                               out: out + a * d, ws: ws, threads: threads)
            a += n
        }
    }
}
