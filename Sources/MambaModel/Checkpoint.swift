import FileOutput
import Foundation

/// Loading and saving model directories laid out like Hugging Face checkpoints:
/// `config.json` + `model.safetensors` (or sharded `model.safetensors.index.json`).
public enum MambaCheckpoint {
    /// Reads the config, picks the architecture, loads and shape-checks every tensor.
    public static func load(_ directory: String) throws -> any SequenceModel {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else {
            throw ModelError.fileNotFound(path: directory)
        }
        guard isDir.boolValue else {
            throw ModelError.ioError(path: directory, reason: "not a model directory (expected config.json + model.safetensors)")
        }
        let dir = URL(fileURLWithPath: directory)
        let config = try ModelConfig.load(path: dir.appendingPathComponent("config.json").path)
        let store = try WeightStore(directory: directory)
        switch config {
        case .mamba(let c): return try MambaLMModel.load(store, config: c)
        case .caduceus(let c): return try CaduceusModel.load(store, config: c)
        }
    }
}

enum Checkpoint {
    static func write(config: [String: Any], tensors: [(String, Tensor)], to directory: String) throws {
        try write(config: config, values: tensors.map { ($0.0, SafetensorsValue.f32($0.1)) }, to: directory)
    }

    static func write(config: [String: Any], values: [(String, SafetensorsValue)], to directory: String) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        catch { throw ModelError.ioError(path: directory, reason: "cannot create directory: \(ErrorText.reason(error))") }
        let dir = URL(fileURLWithPath: directory)
        try Safetensors.write(values.map { (name: $0.0, value: $0.1) }, metadata: ["format": "pt"],
                              to: dir.appendingPathComponent("model.safetensors").path)
        let json: Data
        do { json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]) }
        catch { throw ModelError.ioError(path: directory, reason: "cannot encode config: \(ErrorText.reason(error))") }
        try writeAtomically(json + Data("\n".utf8), to: dir.appendingPathComponent("config.json").path)
    }
}

extension ModelConfig {
    /// config.json in the form the reference writes for this architecture.
    public func json() -> [String: Any] {
        switch self {
        case .mamba(let c) where c.layout == .mambaSSM:
            return ["d_model": c.dModel, "d_intermediate": 0, "n_layer": c.nLayer, "vocab_size": c.vocabSize,
                    "ssm_cfg": ssmJSON(c.mixer), "attn_layer_idx": [Int](), "attn_cfg": [String: Any](),
                    "rms_norm": c.norm == .rms, "residual_in_fp32": c.residualInFP32, "fused_add_norm": c.fusedAddNorm,
                    "pad_vocab_size_multiple": c.padVocabSizeMultiple, "tie_embeddings": c.tieEmbeddings]
        case .mamba(let c):
            let m = c.mixer
            return ["architectures": ["MambaForCausalLM"], "model_type": "mamba", "hidden_size": m.dModel,
                    "num_hidden_layers": c.nLayer, "state_size": m.dState, "expand": m.expand, "conv_kernel": m.dConv,
                    "time_step_rank": m.dtRank, "intermediate_size": m.dInner, "use_bias": m.bias,
                    "use_conv_bias": m.convBias, "layer_norm_epsilon": Double(c.normEpsilon), "vocab_size": c.vocabSize,
                    "residual_in_fp32": c.residualInFP32, "tie_word_embeddings": c.tieEmbeddings, "hidden_act": "silu"]
        case .caduceus(let c):
            var j: [String: Any] = [
                "architectures": ["CaduceusForMaskedLM"], "model_type": "caduceus",
                "auto_map": ["AutoConfig": "configuration_caduceus.CaduceusConfig",
                             "AutoModel": "modeling_caduceus.Caduceus",
                             "AutoModelForMaskedLM": "modeling_caduceus.CaduceusForMaskedLM",
                             "AutoModelForSequenceClassification": "modeling_caduceus.CaduceusForSequenceClassification"],
                "d_model": c.dModel, "n_layer": c.nLayer, "vocab_size": c.vocabSize, "ssm_cfg": ssmJSON(c.mixer),
                "rms_norm": c.norm == .rms, "norm_epsilon": Double(c.normEpsilon), "residual_in_fp32": c.residualInFP32,
                "fused_add_norm": c.fusedAddNorm, "pad_vocab_size_multiple": c.padVocabSizeMultiple,
                "bidirectional": c.bidirectional, "bidirectional_strategy": c.strategy.rawValue,
                "bidirectional_weight_tie": c.weightTie, "rcps": c.rcps]
            if let m = c.complementMap {
                j["complement_map"] = Dictionary(uniqueKeysWithValues: m.enumerated().map { (String($0.offset), $0.element) })
            } else { j["complement_map"] = NSNull() }
            return j
        }
    }

    private func ssmJSON(_ m: MixerConfig) -> [String: Any] {
        ["d_state": m.dState, "d_conv": m.dConv, "expand": m.expand, "dt_rank": m.dtRank, "bias": m.bias, "conv_bias": m.convBias]
    }
}
