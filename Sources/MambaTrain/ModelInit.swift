import Foundation
import MambaModel

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
        let m = c.mixer, d = c.dModel, dxp = m.dtRank + 2 * m.dState
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
            t[p + "mixer.in_proj.weight"] = uniform([2 * m.dInner, d], 1 / Float(d).squareRoot())
            if m.bias { t[p + "mixer.in_proj.bias"] = Tensor(shape: [2 * m.dInner]) }
            t[p + "mixer.conv1d.weight"] = uniform([m.dInner, 1, m.dConv], 1 / Float(m.dConv).squareRoot())
            if m.convBias { t[p + "mixer.conv1d.bias"] = uniform([m.dInner], 1 / Float(m.dConv).squareRoot()) }
            t[p + "mixer.x_proj.weight"] = uniform([dxp, m.dInner], 1 / Float(m.dInner).squareRoot())
            t[p + "mixer.dt_proj.weight"] = uniform([m.dInner, m.dtRank], 1 / Float(m.dtRank).squareRoot())
            var dtBias = [Float](repeating: 0, count: m.dInner)
            for j in 0..<m.dInner {
                // dt = exp(U[log 1e-3, log 1e-1]), clamped below at 1e-4; bias = dt + log(−expm1(−dt)).
                let dt = max(Foundation.exp(Double(rng.nextFloat()) * (Foundation.log(0.1) - Foundation.log(0.001))
                                            + Foundation.log(0.001)), 1e-4)
                dtBias[j] = Float(dt + Foundation.log(-Foundation.expm1(-dt)))
            }
            t[p + "mixer.dt_proj.bias"] = Tensor(shape: [m.dInner], values: dtBias)
            var aLog = [Float](repeating: 0, count: m.dInner * m.dState)
            for j in 0..<m.dInner { for s in 0..<m.dState { aLog[j * m.dState + s] = Foundation.log(Float(s + 1)) } }
            t[p + "mixer.A_log"] = Tensor(shape: [m.dInner, m.dState], values: aLog)
            t[p + "mixer.D"] = Tensor(shape: [m.dInner], repeating: 1)
            let outW = uniform([d, m.dInner], 1 / Float(m.dInner).squareRoot())
            let rescale = 1 / Float(c.nLayer).squareRoot()
            for k in 0..<outW.count { outW.data[k] *= rescale }
            t[p + "mixer.out_proj.weight"] = outW
            if m.bias { t[p + "mixer.out_proj.bias"] = Tensor(shape: [d]) }
        }
        t["backbone.norm_f.weight"] = Tensor(shape: [d], repeating: 1)
        if c.norm == .layer { t["backbone.norm_f.bias"] = Tensor(shape: [d]) }
        if !c.tieEmbeddings { t["lm_head.weight"] = uniform([c.paddedVocabSize, d], 1 / Float(d).squareRoot()) }
        return try MambaLMModel.load(WeightStore(file: MemoryTensorFile(t)), config: c)
    }
}

/// Named tensors held in memory, readable wherever a checkpoint file is (`WeightStore(file:)`).
/// `floats` hands out the stored tensor itself, so a model loaded from it shares these buffers.
public struct MemoryTensorFile: TensorFile {
    public let path = "<memory>"
    public let tensors: [String: Tensor]
    public init(_ tensors: [String: Tensor]) { self.tensors = tensors }
    public var shapes: [String: [Int]] { tensors.mapValues(\.shape) }
    public func floats(_ name: String) throws -> Tensor {
        guard let t = tensors[name] else { throw ModelError.missingTensor(path: path, name: name) }
        return t
    }
    public func integers(_ name: String) throws -> [Int64] {
        guard let t = tensors[name] else { throw ModelError.missingTensor(path: path, name: name) }
        return t.array.map { Int64($0) }
    }
}
