import MambaKernels

/// kuleshov-group/caduceus `Caduceus` / `CaduceusForMaskedLM`: a pre-norm residual stack of BiMamba mixers,
/// optionally reverse-complement equivariant (RCPS).
///
/// Plain (rcps = false), width d:
///   h = emb(ids); r = 0;  per block: r = r + h; h = BiMamba(norm(r));   out = norm_f(r + h)
///
/// RCPS, width 2d = [forward strand | reverse-complement strand stored flipped along positions and channels]:
///   h[t] = [E[id_t] | reverse(E[comp(id_t)])]
///   per block: s = r + h
///              r = swap_halves(s)  when fused_add_norm (the reference feeds half 1 to the forward add+norm
///                                  and half 0 to the rc one, so the halves trade places every block)
///              r = s               otherwise
///              x = [norm(r₀) | norm_rev(r₁)]          norm_rev = the norm with its weight reversed = rc∘norm∘rc
///              h = [M(x₀) | rc(M(rc(x₁)))]           rc = flip positions and channels; M = BiMamba on d channels
///   out = [norm_f(s₀) | norm_f_rev(s₁)] with s = r + h
///   logits = out₀ · Wᵀ + reverse(out₁) · W[comp]ᵀ
public struct CaduceusModel: SequenceModel {
    public struct Layer {
        public var norm: NormLayer
        public var mixer: BiMambaMixer
    }

    public let config: CaduceusConfig
    public var embedding: Tensor       // (paddedVocab, dModel)
    public var layers: [Layer]
    public var normF: NormLayer
    public var lmHead: Tensor          // (paddedVocab, dModel); the embedding itself when tied
    public var complementMap: [Int]    // (paddedVocab) id → complement id
    public var chunkRows = 8192
    /// Threads of a call that is not told otherwise.
    public var compute = Compute.allCores

    public var architecture: String { "caduceus" }
    public var modelDim: Int { config.dModel }
    public var outputDim: Int { config.rcps ? 2 * config.dModel : config.dModel }
    public var vocabSize: Int { embedding.shape[0] }
    public var isCausal: Bool { !config.bidirectional && !config.rcps }

    public init(config: CaduceusConfig, embedding: Tensor, layers: [(NormLayer, BiMambaMixer)], normF: NormLayer,
                lmHead: Tensor, complementMap: [Int]) {
        self.config = config; self.embedding = embedding
        self.layers = layers.map { Layer(norm: $0.0, mixer: $0.1) }
        self.normF = normF
        self.lmHead = lmHead; self.complementMap = complementMap
    }

    // MARK: names

    struct Names {
        let root: String  // "caduceus.backbone." (CaduceusForMaskedLM) or "backbone." (bare Caduceus)
        let rcps: Bool, fused: Bool
        var embedding: String { root + (rcps ? "embeddings.word_embeddings.embedding.weight" : "embeddings.word_embeddings.weight") }
        var embeddingComplement: String { root + "embeddings.word_embeddings.complement_map" }
        func mixer(_ i: Int, _ dir: String) -> String { root + "layers.\(i).mixer." + (rcps ? "submodule." : "") + "mamba_\(dir)." }
        // RCPSAddNormWrapper (rcps, unfused) wraps the norm in `.submodule`.
        func norm(_ i: Int) -> String { root + "layers.\(i).norm." + (rcps && !fused ? "submodule." : "") }
        var normF: String { root + "norm_f." + (rcps && !fused ? "submodule." : "") }
        var lmHead: String { rcps ? "lm_head.lm_head.weight" : "lm_head.weight" }
        let lmHeadComplement = "lm_head.complement_map"
    }

    public static func load(_ store: WeightStore, config c: CaduceusConfig) throws -> CaduceusModel {
        let root = store.names.contains { $0.hasPrefix("caduceus.backbone.") } ? "caduceus.backbone." : "backbone."
        let n = Names(root: root, rcps: c.rcps, fused: c.fusedAddNorm)
        let vocab = c.paddedVocabSize, d = c.dModel
        let emb = try store.tensor(n.embedding, shape: [vocab, d])
        var layers: [(NormLayer, BiMambaMixer)] = []
        for i in 0..<c.nLayer {
            let fwd = try MambaMixer.load(store, prefix: n.mixer(i, "fwd"), config: c.mixer)
            let rev = c.bidirectional
                ? try MambaMixer.load(store, prefix: n.mixer(i, "rev"), config: c.mixer, shared: c.weightTie ? fwd : nil) : nil
            let norm = try NormLayer.load(store, prefix: n.norm(i), kind: c.norm, dim: d, eps: c.normEpsilon)
            layers.append((norm, BiMambaMixer(fwd: fwd, rev: rev, strategy: c.strategy, weightTie: c.weightTie)))
        }
        let normF = try NormLayer.load(store, prefix: n.normF, kind: c.norm, dim: d, eps: c.normEpsilon)
        let head = store.has(n.lmHead) ? try store.tensor(n.lmHead, shape: [vocab, d]) : emb
        var comp = c.paddedComplementMap
        if c.rcps {
            // The stored buffers are what the reference model indexes with; they must agree with the config.
            for name in [n.embeddingComplement, n.lmHeadComplement] where store.has(name) {
                guard store.shape(name) == [vocab] else {
                    throw ModelError.shapeMismatch(path: store.path(of: name), name: name, expected: [vocab], actual: store.shape(name) ?? [])
                }
                let stored = try store.integers(name).map(Int.init)
                guard stored.allSatisfy({ $0 >= 0 && $0 < vocab }) else {
                    throw ModelError.corruptFile(path: store.path(of: name), reason: "tensor '\(name)' holds ids outside the vocabulary")
                }
                comp = stored
            }
        }
        return CaduceusModel(config: c, embedding: emb, layers: layers, normF: normF, lmHead: head, complementMap: comp)
    }

    // MARK: forward

    /// Sequences run in blocks of whole sequences, shared out over threads when there are several
    /// (`PackedParallel`); the result does not depend on the thread count.
    public func hiddenStates(packed tokens: [Int32], segments: Segments, threads: Int) -> [Float] {
        precondition(tokens.count == segments.length, "tokens and segments differ in length")
        let L = tokens.count, W = outputDim
        if L == 0 { return [] }
        let blocks = segments.blocks(rows: PackedParallel.blockRows(chunkRows: chunkRows))
        if blocks.count == 1 { return hiddenStatesOnePass(tokens, segments: segments, threads: threads) }
        return [Float](unsafeUninitializedCapacity: L * W) { o, n in
            nonisolated(unsafe) let out = o.baseAddress!
            PackedParallel.run(blocks, threads: threads, makeWorker: { $0 }) { workerThreads, offset, segs in
                let part = hiddenStatesOnePass(Array(tokens[offset..<(offset + segs.length)]), segments: segs,
                                               threads: workerThreads)
                part.withUnsafeBufferPointer { (out + offset * W).update(from: $0.baseAddress!, count: part.count) }
            }
            n = L * W
        }
    }

    private func hiddenStatesOnePass(_ tokens: [Int32], segments: Segments, threads: Int) -> [Float] {
        let L = tokens.count, d = config.dModel, W = outputDim
        if L == 0 { return [] }
        let hs = Scratch(L * W)      // (L, W) block output
        let r = Scratch(L * W)       // (L, W) residual stream
        let x = Scratch(config.rcps ? 1 : L * W)  // (L, W) normed mixer input (plain stack only)
        let ws = BiMambaWorkspace()
        let hp = hs.ptr
        tokens.withUnsafeBufferPointer { embed($0.baseAddress!, count: L, into: hp) }
        if !config.rcps {
            for (i, layer) in layers.enumerated() {
                if i == 0 { r.ptr.update(from: hp, count: L * d) } else { Ops.addInPlace(r.ptr, hp, count: L * d, threads: threads) }
                layer.norm.forward(r.ptr, ldx: d, rows: L, y: x.ptr, ldy: d, threads: threads)
                layer.mixer.forward(x.ptr, ldh: d, segments: segments, out: hp, ldo: d, chunkRows: chunkRows, ws: ws,
                                    threads: threads)
            }
            Ops.addInPlace(r.ptr, hp, count: L * d, threads: threads)
            var out = [Float](repeating: 0, count: L * W)
            out.withUnsafeMutableBufferPointer { normF.forward(r.ptr, ldx: d, rows: L, y: $0.baseAddress!, ldy: d, threads: threads) }
            return withExtendedLifetime((hs, r, x)) { out }
        }

        rcpsLayers(r: r.ptr, h: hp, segments: segments, threads: threads)
        Ops.addInPlace(r.ptr, hp, count: L * W, threads: threads)
        // Allocated only now that the layers' temporaries are gone: it is the largest buffer at the peak otherwise.
        var out = [Float](repeating: 0, count: L * W)
        out.withUnsafeMutableBufferPointer { o in
            normF.forward(r.ptr, ldx: W, rows: L, y: o.baseAddress!, ldy: W, threads: threads)
            // Reversed from the current weights on each call (d values), so weights updated in place by training
            // are never read through a stale copy.
            normF.channelReversed().forward(r.ptr + d, ldx: W, rows: L, y: o.baseAddress! + d, ldy: W, threads: threads)
        }
        return withExtendedLifetime((hs, r, x)) { out }
    }

    /// The RCPS blocks over (L, 2d) rows: h holds the embedding on entry and the last block's output on return,
    /// r the residual stream before that output is added.
    private func rcpsLayers(r: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, segments: Segments, threads: Int) {
        let tiedAdd = layers.allSatisfy { $0.mixer.rev != nil && $0.mixer.weightTie && $0.mixer.strategy == .add }
        if tiedAdd { rcpsLayersTiedAdd(r: r, h: h, segments: segments, threads: threads) }
        else { rcpsLayersStrands(r: r, h: h, segments: segments, threads: threads) }
    }

    /// `rcpsLayers` for tied `add` BiMamba mixers (Caduceus-PS): no strand buffers. Each strand's normed input is
    /// made block by block inside the in_proj workers (the rc strand's rows read reversed in both axes), and the
    /// out_proj blocks are written straight into their half of h (the rc strand's reversed back). Temporaries:
    /// the mixer's 3·L·dInner floats.
    private func rcpsLayersTiedAdd(r: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, segments: Segments,
                                   threads: Int) {
        let L = segments.length, d = config.dModel, W = 2 * d
        let ws = BiMambaWorkspace()
        let revSegments = segments.reversed()
        nonisolated(unsafe) let r = r, h = h
        do {
            for (i, layer) in layers.enumerated() {
                // s = r + h, kept in r (halves swapped when fused_add_norm)
                Parallel.rowSlices(L, threads: threads) { rr in
                    let n = rr.count, ra = r + rr.lowerBound * W, ha = h + rr.lowerBound * W
                    if i == 0 { ra.update(from: ha, count: n * W) } else { Ops.addInPlace(ra, ha, count: n * W, threads: 1) }
                    if config.fusedAddNorm { Ops.swapHalves(ra, rows: n, half: d, threads: 1) }
                }
                let norm = layer.norm
                // forward strand: M(norm(r₀)) into h₀
                layer.mixer.forwardTiedAdd(layer.mixer.rev!, segments: segments, chunkRows: chunkRows, ws: ws, threads: threads,
                    input: { rr, buf in
                        norm.forward(r + rr.lowerBound * W, ldx: W, rows: rr.count, y: buf, ldy: d, threads: 1)
                        return (UnsafePointer(buf), d)
                    },
                    output: { rr, src in Ops.copyRows(src, ld: d, to: h + rr.lowerBound * W, ld: W, rows: rr.count, cols: d) })
                // rc strand: rc(M(rc(norm_rev(r₁)))), and rc∘norm_rev = norm∘rc; rc flips the whole buffer, so the
                // packed sequences appear in reverse order. Row t of the rc input is row L−1−t of r₁, channels reversed.
                layer.mixer.forwardTiedAdd(layer.mixer.rev!, segments: revSegments, chunkRows: chunkRows, ws: ws, threads: threads,
                    input: { rr, buf in
                        Ops.reverseComplement(r + (L - rr.upperBound) * W + d, ld: W, to: buf, ld: d, rows: rr.count, cols: d,
                                              threads: 1)
                        norm.forward(buf, ldx: d, rows: rr.count, y: buf, ldy: d, threads: 1)
                        return (UnsafePointer(buf), d)
                    },
                    output: { rr, src in
                        Ops.reverseComplement(src, ld: d, to: h + (L - rr.upperBound) * W + d, ld: W, rows: rr.count, cols: d,
                                              threads: 1)
                    })
            }
        }
    }

    /// `rcpsLayers` for any mixers: each strand runs through an (L, d) buffer of its own, so the temporaries
    /// (freed on return) are 2·L·d floats here plus the mixer's.
    private func rcpsLayersStrands(r: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, segments: Segments,
                                   threads: Int) {
        let L = segments.length, d = config.dModel, W = 2 * d
        let strand = Scratch(L * d), strandOut = Scratch(L * d)
        let ws = BiMambaWorkspace()
        let revSegments = segments.reversed()
        for (i, layer) in layers.enumerated() {
            // s = r + h, kept in r
            if i == 0 { r.update(from: h, count: L * W) } else { Ops.addInPlace(r, h, count: L * W, threads: threads) }
            if config.fusedAddNorm { Ops.swapHalves(r, rows: L, half: d, threads: threads) }
            // forward strand: M(norm(r₀)), written into h₀
            layer.norm.forward(r, ldx: W, rows: L, y: strand.ptr, ldy: d, threads: threads)
            layer.mixer.forward(strand.ptr, ldh: d, segments: segments, out: h, ldo: W, chunkRows: chunkRows, ws: ws,
                                threads: threads)
            // rc strand: rc(M(rc(norm_rev(r₁)))), and rc∘norm_rev = norm∘rc; rc flips the whole buffer, so the packed
            // sequences appear in reverse order
            Ops.reverseComplement(r + d, ld: W, to: strand.ptr, ld: d, rows: L, cols: d, threads: threads)
            layer.norm.forward(strand.ptr, ldx: d, rows: L, y: strand.ptr, ldy: d, threads: threads)
            layer.mixer.forward(strand.ptr, ldh: d, segments: revSegments, out: strandOut.ptr, ldo: d,
                                chunkRows: chunkRows, ws: ws, threads: threads)
            Ops.reverseComplement(strandOut.ptr, ld: d, to: h + d, ld: W, rows: L, cols: d, threads: threads)
        }
    }

    /// (L, outputDim) embedding rows; RCPS adds the reverse-complement half reverse(E[comp(id)]).
    func embed(_ tokens: UnsafePointer<Int32>, count L: Int, into h: UnsafeMutablePointer<Float>) {
        let d = config.dModel, W = outputDim
        Ops.embed(tokens, count: L, table: embedding, dim: d, out: h, ld: W)
        guard config.rcps else { return }
        for t in 0..<L {
            let src = embedding.ptr + complementMap[Int(tokens[t])] * d, dst = h + t * W + d
            for c in 0..<d { dst[c] = src[d - 1 - c] }
        }
    }

    public func logits(hidden: [Float], rows: Int) -> [Float] {
        let d = config.dModel, V = vocabSize
        var out = [Float](repeating: 0, count: rows * V)
        // RCPS head as one product over [W | Wrc] with Wrc[v, c] = W[comp(v), d−1−c].
        let head: Tensor
        if config.rcps {
            head = Tensor(shape: [V, 2 * d])
            for v in 0..<V {
                (head.data + v * 2 * d).update(from: lmHead.ptr + v * d, count: d)
                let src = lmHead.ptr + complementMap[v] * d
                for c in 0..<d { head.data[v * 2 * d + d + c] = src[d - 1 - c] }
            }
        } else { head = lmHead }
        hidden.withUnsafeBufferPointer { h in
            out.withUnsafeMutableBufferPointer { o in
                Gemm.linear(x: h.baseAddress!, rows: rows, inFeatures: head.shape[1], weight: head.ptr, outFeatures: V,
                            y: o.baseAddress!, threads: compute.threads)
            }
        }
        return out
    }

    // MARK: save

    /// Parameters as the Hugging Face saver stores them: tied aliases (lm_head, rev in/out_proj) left out.
    public func namedTensors() -> [(String, SafetensorsValue)] {
        let n = Names(root: "caduceus.backbone.", rcps: config.rcps, fused: config.fusedAddNorm)
        var t: [(String, SafetensorsValue)] = [(n.embedding, .f32(embedding))]
        if config.rcps {
            let comp = SafetensorsValue.i64(shape: [complementMap.count], values: complementMap.map(Int64.init))
            t += [(n.embeddingComplement, comp), (n.lmHeadComplement, comp)]
        }
        for (i, l) in layers.enumerated() {
            t += l.mixer.fwd.tensors(prefix: n.mixer(i, "fwd")).map { ($0.0, .f32($0.1)) }
            if let rev = l.mixer.rev {
                t += rev.tensors(prefix: n.mixer(i, "rev"), includeProjections: !config.weightTie).map { ($0.0, .f32($0.1)) }
            }
            t += l.norm.tensors(prefix: n.norm(i)).map { ($0.0, .f32($0.1)) }
        }
        t += normF.tensors(prefix: n.normF).map { ($0.0, .f32($0.1)) }
        if lmHead !== embedding { t.append((n.lmHead, .f32(lmHead))) }
        return t.sorted { $0.0 < $1.0 }
    }

    /// The distinct fp32 weights under their checkpoint names (the complement maps left out).
    public func trainableTensors() -> [(String, Tensor)] {
        namedTensors().compactMap { name, value in
            if case .f32(let t) = value { return (name, t) }
            return nil
        }
    }

    public func save(to directory: String) throws {
        try Checkpoint.write(config: ModelConfig.caduceus(config).json(), values: namedTensors(), to: directory)
    }
}
