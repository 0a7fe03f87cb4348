import Foundation

/// Fresh weights for a `MambaLMModel`, following mamba_ssm's initialisation:
///   embedding ~ N(0, 0.02); Linear weights ~ U(±1/√fan_in) (PyTorch's default), out_proj then divided by
///   √n_layer (the GPT-2 residual rescale mamba_ssm applies); conv ~ U(±1/√d_conv);
///   dt_proj.weight ~ U(±dt_rank^-½); dt_proj.bias = softplus⁻¹(dt), dt log-uniform in [1e-3, 1e-1];
///   A_log[d, s] = log(s + 1) (S4D-real); D = 1; norm weights = 1.
/// The model is built through `MambaLMModel.load` over an in-memory tensor file, so every shape check of
/// the loader applies to fresh models too.
public enum MambaInit {
    public static func randomLM(config c: MambaLMConfig, seed: UInt64) throws -> MambaLMModel {
        var rng = RandomSource(seed: seed)
        let m = c.mixer, d = c.dModel
        var t: [String: Tensor] = [:]
        func uniform(_ shape: [Int], _ bound: Float) -> Tensor {
            var v = [Float](repeating: 0, count: shape.reduce(1, *))
            rng.fillUniform(&v, low: -bound, high: bound)
            return Tensor(shape: shape, values: v)
        }
        var emb = [Float](repeating: 0, count: c.paddedVocabSize * d)
        rng.fillNormal(&emb, std: 0.02)
        let embName = c.layout == .mambaSSM ? "backbone.embedding.weight" : "backbone.embeddings.weight"
        t[embName] = Tensor(shape: [c.paddedVocabSize, d], values: emb)
        for i in 0..<c.nLayer {
            let p = "backbone.layers.\(i)."
            t[p + "norm.weight"] = Tensor(shape: [d], repeating: 1)
            if c.norm == .layer { t[p + "norm.bias"] = Tensor(shape: [d]) }
            t.merge(mixerTensors(m, prefix: p + "mixer.", nLayer: c.nLayer, rng: &rng)) { $1 }
        }
        t["backbone.norm_f.weight"] = Tensor(shape: [d], repeating: 1)
        if c.norm == .layer { t["backbone.norm_f.bias"] = Tensor(shape: [d]) }
        if !c.tieEmbeddings { t["lm_head.weight"] = uniform([c.paddedVocabSize, d], 1 / Float(d).squareRoot()) }
        return try MambaLMModel.load(WeightStore(file: MemoryTensorFile(t)), config: c)
    }

    /// One mixer's fresh tensors under `prefix` + the reference names (`includeProjections: false` leaves out
    /// in_proj/out_proj, for a mixer that shares another's). `nLayer` sets the out_proj rescale.
    static func mixerTensors(_ m: MixerConfig, prefix p: String, nLayer: Int, includeProjections: Bool = true,
                             rng: inout RandomSource) -> [String: Tensor] {
        let d = m.dModel, dxp = m.dtRank + 2 * m.dState
        var t: [String: Tensor] = [:]
        func uniform(_ shape: [Int], _ bound: Float) -> Tensor {
            var v = [Float](repeating: 0, count: shape.reduce(1, *))
            rng.fillUniform(&v, low: -bound, high: bound)
            return Tensor(shape: shape, values: v)
        }
        if includeProjections {
            t[p + "in_proj.weight"] = uniform([2 * m.dInner, d], 1 / Float(d).squareRoot())
            if m.bias { t[p + "in_proj.bias"] = Tensor(shape: [2 * m.dInner]) }
        }
        t[p + "conv1d.weight"] = uniform([m.dInner, 1, m.dConv], 1 / Float(m.dConv).squareRoot())
        if m.convBias { t[p + "conv1d.bias"] = uniform([m.dInner], 1 / Float(m.dConv).squareRoot()) }
        t[p + "x_proj.weight"] = uniform([dxp, m.dInner], 1 / Float(m.dInner).squareRoot())
        t[p + "dt_proj.weight"] = uniform([m.dInner, m.dtRank], 1 / Float(m.dtRank).squareRoot())
        var dtBias = [Float](repeating: 0, count: m.dInner)
        for j in 0..<m.dInner {
            // dt = exp(U[log 1e-3, log 1e-1]), clamped below at 1e-4; bias = dt + log(−expm1(−dt)).
            let dt = max(Foundation.exp(Double(rng.nextFloat()) * (Foundation.log(0.1) - Foundation.log(0.001))
                                        + Foundation.log(0.001)), 1e-4)
            dtBias[j] = Float(dt + Foundation.log(-Foundation.expm1(-dt)))
        }
        t[p + "dt_proj.bias"] = Tensor(shape: [m.dInner], values: dtBias)
        var aLog = [Float](repeating: 0, count: m.dInner * m.dState)
        for j in 0..<m.dInner { for s in 0..<m.dState { aLog[j * m.dState + s] = Foundation.log(Float(s + 1)) } }
        t[p + "A_log"] = Tensor(shape: [m.dInner, m.dState], values: aLog)
        t[p + "D"] = Tensor(shape: [m.dInner], repeating: 1)
        if includeProjections {
            let outW = uniform([d, m.dInner], 1 / Float(m.dInner).squareRoot())
            let rescale = 1 / Float(nLayer).squareRoot()
            for k in 0..<outW.count { outW.data[k] *= rescale }
            t[p + "out_proj.weight"] = outW
            if m.bias { t[p + "out_proj.bias"] = Tensor(shape: [d]) }
        }
        return t
    }

    /// Fresh weights for a Caduceus masked LM (`CaduceusForMaskedLM` names): embedding ~ N(0, 0.02), each
    /// direction's mixer as above (the reverse one sharing in_proj/out_proj when `weightTie`), norms = 1,
    /// LM head tied to the embedding.
    public static func randomCaduceus(config c: CaduceusConfig, seed: UInt64) throws -> CaduceusModel {
        var rng = RandomSource(seed: seed)
        let d = c.dModel, root = "caduceus.backbone."
        var t: [String: Tensor] = [:]
        var emb = [Float](repeating: 0, count: c.paddedVocabSize * d)
        rng.fillNormal(&emb, std: 0.02)
        t[root + (c.rcps ? "embeddings.word_embeddings.embedding.weight" : "embeddings.word_embeddings.weight")] =
            Tensor(shape: [c.paddedVocabSize, d], values: emb)
        func norm(_ p: String) {
            t[p + "weight"] = Tensor(shape: [d], repeating: 1)
            if c.norm == .layer { t[p + "bias"] = Tensor(shape: [d]) }
        }
        let wrap = c.rcps && !c.fusedAddNorm ? "submodule." : ""  // RCPSAddNormWrapper names
        for i in 0..<c.nLayer {
            let p = root + "layers.\(i)."
            norm(p + "norm." + wrap)
            let mixer = p + "mixer." + (c.rcps ? "submodule." : "")
            t.merge(mixerTensors(c.mixer, prefix: mixer + "mamba_fwd.", nLayer: c.nLayer, rng: &rng)) { $1 }
            if c.bidirectional {
                t.merge(mixerTensors(c.mixer, prefix: mixer + "mamba_rev.", nLayer: c.nLayer,
                                     includeProjections: !c.weightTie, rng: &rng)) { $1 }
            }
        }
        norm(root + "norm_f." + wrap)
        return try CaduceusModel.load(WeightStore(file: MemoryTensorFile(t)), config: c)
    }
}
