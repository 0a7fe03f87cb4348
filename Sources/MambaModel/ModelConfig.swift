import FileOutput
import Foundation

/// Shape of one Mamba-1 mixer (mamba_ssm `Mamba`, transformers `MambaMixer`).
public struct MixerConfig: Equatable, Sendable {
    public var dModel: Int
    public var dState: Int = 16
    public var dConv: Int = 4
    public var expand: Int = 2
    public var dtRank: Int          // "auto" = ceil(dModel / 16)
    public var dInner: Int          // expand · dModel
    public var bias = false         // in_proj / out_proj bias
    public var convBias = true

    public init(dModel: Int, dState: Int = 16, dConv: Int = 4, expand: Int = 2, dtRank: Int? = nil,
                dInner: Int? = nil, bias: Bool = false, convBias: Bool = true) {
        self.dModel = dModel; self.dState = dState; self.dConv = dConv; self.expand = expand
        self.dtRank = dtRank ?? (dModel + 15) / 16
        self.dInner = dInner ?? expand * dModel
        self.bias = bias; self.convBias = convBias
    }
}

public enum NormKind: String, Sendable { case rms, layer }

/// mamba_ssm `MambaConfig` (MixerModel / MambaLMHeadModel) and transformers `MambaConfig` (MambaForCausalLM):
/// the same network under two naming schemes.
public struct MambaLMConfig: Equatable, Sendable {
    public enum Layout: String, Sendable {
        case mambaSSM      // backbone.embedding.weight, lm_head.weight
        case huggingFace   // backbone.embeddings.weight
    }
    public var layout: Layout
    public var nLayer: Int
    public var vocabSize: Int            // as written in config.json
    public var padVocabSizeMultiple = 8  // mamba_ssm only
    public var mixer: MixerConfig
    public var norm: NormKind = .rms
    public var normEpsilon: Float = 1e-5
    public var residualInFP32 = true
    public var fusedAddNorm = true       // same math either way for the plain stack
    public var tieEmbeddings = true
    public var dModel: Int { mixer.dModel }

    /// Embedding rows: mamba_ssm pads the vocabulary to a multiple of `padVocabSizeMultiple`.
    public var paddedVocabSize: Int {
        guard layout == .mambaSSM, padVocabSizeMultiple > 1 else { return vocabSize }
        return (vocabSize + padVocabSizeMultiple - 1) / padVocabSizeMultiple * padVocabSizeMultiple
    }

    public init(layout: Layout, nLayer: Int, vocabSize: Int, mixer: MixerConfig) {
        self.layout = layout; self.nLayer = nLayer; self.vocabSize = vocabSize; self.mixer = mixer
    }
}

/// kuleshov-group/caduceus `CaduceusConfig`.
public struct CaduceusConfig: Equatable, Sendable {
    public enum Strategy: String, Sendable { case add, ewMultiply = "ew_multiply" }
    public var nLayer: Int
    public var vocabSize: Int             // as written (the reference saves the padded value)
    public var padVocabSizeMultiple = 8
    public var mixer: MixerConfig
    public var norm: NormKind = .rms
    public var normEpsilon: Float = 1e-5
    public var residualInFP32 = false
    public var fusedAddNorm = true
    public var bidirectional = true
    public var strategy: Strategy = .add
    public var weightTie = true
    public var rcps = false
    public var complementMap: [Int]?      // id → complement id (config order), nil unless rcps
    public var dModel: Int { mixer.dModel }

    public var paddedVocabSize: Int {
        guard padVocabSizeMultiple > 1 else { return vocabSize }
        return (vocabSize + padVocabSizeMultiple - 1) / padVocabSizeMultiple * padVocabSizeMultiple
    }

    /// Complement map over the padded vocabulary (extra ids map to themselves, as the reference does).
    public var paddedComplementMap: [Int] {
        var m = complementMap ?? Array(0..<paddedVocabSize)
        if m.count < paddedVocabSize { m += Array(m.count..<paddedVocabSize) }
        return m
    }

    public init(nLayer: Int, vocabSize: Int, mixer: MixerConfig) {
        self.nLayer = nLayer; self.vocabSize = vocabSize; self.mixer = mixer
    }
}

/// A parsed config.json: which architecture, with its settings.
public enum ModelConfig: Equatable, Sendable {
    case mamba(MambaLMConfig)
    case caduceus(CaduceusConfig)

    /// Reads `config.json`: `model_type: caduceus` → Caduceus, `model_type: mamba` → transformers Mamba,
    /// no model_type with `d_model`/`n_layer` → mamba_ssm MambaConfig.
    public static func load(path: String) throws -> ModelConfig {
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError.fileNotFound(path: path) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) }
        catch { throw ModelError.ioError(path: path, reason: "cannot read: \(ErrorText.reason(error))") }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) }
        catch { throw ModelError.badConfig(path: path, reason: ErrorText.reason(error)) }
        guard let obj = parsed as? [String: Any] else {
            throw ModelError.badConfig(path: path, reason: "not a JSON object")
        }
        return try parse(JSONFields(obj, path: path))
    }

    static func parse(_ j: JSONFields) throws -> ModelConfig {
        let type = try j.string("model_type")
        switch type {
        case "caduceus": return .caduceus(try parseCaduceus(j))
        case "mamba": return .mamba(try parseHF(j))
        case nil:
            if j.has("d_model") && j.has("n_layer") { return .mamba(try parseMambaSSM(j)) }
            throw ModelError.unknownArchitecture(path: j.path, reason: "no model_type and no mamba_ssm d_model/n_layer")
        case let t?:
            throw ModelError.unknownArchitecture(path: j.path, reason: "model_type '\(t)' (supported: mamba, caduceus, mamba_ssm MambaConfig)")
        }
    }

    static func parseSSMConfig(_ j: JSONFields, dModel: Int) throws -> MixerConfig {
        if let layer = try j.string("layer"), layer != "Mamba1" {
            throw ModelError.unsupported(path: j.path, reason: "ssm_cfg.layer '\(layer)' (only Mamba1 is implemented)")
        }
        let dtRank: Int?
        if let s = try j.string("dt_rank") {
            guard s == "auto" else { throw ModelError.badConfig(path: j.path, reason: "dt_rank '\(s)'") }
            dtRank = nil
        } else { dtRank = try j.int("dt_rank") }
        let m = MixerConfig(dModel: dModel, dState: try j.int("d_state") ?? 16, dConv: try j.int("d_conv") ?? 4,
                            expand: try j.int("expand") ?? 2, dtRank: dtRank,
                            bias: try j.bool("bias") ?? false, convBias: try j.bool("conv_bias") ?? true)
        try m.validate(path: j.path)
        return m
    }

    static func parseMambaSSM(_ j: JSONFields) throws -> MambaLMConfig {
        let dModel = try j.requireInt("d_model")
        if let di = try j.int("d_intermediate"), di != 0 {
            throw ModelError.unsupported(path: j.path, reason: "d_intermediate \(di) (MLP blocks are not implemented)")
        }
        if let attn = j.raw["attn_layer_idx"] as? [Any], !attn.isEmpty {
            throw ModelError.unsupported(path: j.path, reason: "attention layers (attn_layer_idx) are not implemented")
        }
        let ssm = try j.object("ssm_cfg") ?? JSONFields([:], path: j.path)
        var c = MambaLMConfig(layout: .mambaSSM, nLayer: try j.requireInt("n_layer"),
                              vocabSize: try j.requireInt("vocab_size"), mixer: try parseSSMConfig(ssm, dModel: dModel))
        c.padVocabSizeMultiple = try j.int("pad_vocab_size_multiple") ?? 8
        c.norm = (try j.bool("rms_norm") ?? true) ? .rms : .layer
        c.residualInFP32 = try j.bool("residual_in_fp32") ?? true
        c.fusedAddNorm = try j.bool("fused_add_norm") ?? true
        c.tieEmbeddings = try j.bool("tie_embeddings") ?? true
        c.normEpsilon = Float(try j.double("norm_epsilon") ?? 1e-5)
        try c.validate(path: j.path)
        return c
    }

    static func parseHF(_ j: JSONFields) throws -> MambaLMConfig {
        let dModel = try j.requireInt("hidden_size")
        let dtRank: Int?
        if let s = try j.string("time_step_rank") {
            guard s == "auto" else { throw ModelError.badConfig(path: j.path, reason: "time_step_rank '\(s)'") }
            dtRank = nil
        } else { dtRank = try j.int("time_step_rank") }
        let expand = try j.int("expand") ?? 2
        let mixer = MixerConfig(dModel: dModel, dState: try j.int("state_size") ?? 16, dConv: try j.int("conv_kernel") ?? 4,
                                expand: expand, dtRank: dtRank, dInner: try j.int("intermediate_size"),
                                bias: try j.bool("use_bias") ?? false, convBias: try j.bool("use_conv_bias") ?? true)
        try mixer.validate(path: j.path)
        var c = MambaLMConfig(layout: .huggingFace, nLayer: try j.requireInt("num_hidden_layers"),
                              vocabSize: try j.requireInt("vocab_size"), mixer: mixer)
        c.padVocabSizeMultiple = 1
        c.normEpsilon = Float(try j.double("layer_norm_epsilon") ?? 1e-5)
        c.residualInFP32 = try j.bool("residual_in_fp32") ?? true
        c.tieEmbeddings = try j.bool("tie_word_embeddings") ?? true
        try c.validate(path: j.path)
        return c
    }

    static func parseCaduceus(_ j: JSONFields) throws -> CaduceusConfig {
        let dModel = try j.requireInt("d_model")
        let ssm = try j.object("ssm_cfg") ?? JSONFields([:], path: j.path)
        var c = CaduceusConfig(nLayer: try j.requireInt("n_layer"), vocabSize: try j.requireInt("vocab_size"),
                               mixer: try parseSSMConfig(ssm, dModel: dModel))
        c.padVocabSizeMultiple = try j.int("pad_vocab_size_multiple") ?? 8
        c.norm = (try j.bool("rms_norm") ?? true) ? .rms : .layer
        c.normEpsilon = Float(try j.double("norm_epsilon") ?? 1e-5)
        c.residualInFP32 = try j.bool("residual_in_fp32") ?? false
        c.fusedAddNorm = try j.bool("fused_add_norm") ?? true
        c.bidirectional = try j.bool("bidirectional") ?? true
        if let s = try j.string("bidirectional_strategy") {
            guard let st = CaduceusConfig.Strategy(rawValue: s) else {
                throw ModelError.unsupported(path: j.path, reason: "bidirectional_strategy '\(s)' (add or ew_multiply)")
            }
            c.strategy = st
        }
        c.weightTie = try j.bool("bidirectional_weight_tie") ?? true
        c.rcps = try j.bool("rcps") ?? false
        if let m = try j.object("complement_map") {
            var map: [Int] = []
            for i in 0..<m.raw.count {
                guard let v = try m.int(String(i)) else {
                    throw ModelError.badConfig(path: j.path, reason: "complement_map lacks id \(i)")
                }
                map.append(v)
            }
            c.complementMap = map
        }
        if c.rcps && c.complementMap == nil {
            throw ModelError.badConfig(path: j.path, reason: "rcps needs a complement_map")
        }
        try c.validate(path: j.path)
        return c
    }
}

extension MixerConfig {
    func validate(path: String) throws {
        for (name, v) in [("d_model", dModel), ("d_state", dState), ("d_conv", dConv), ("dt_rank", dtRank), ("d_inner", dInner)] where v <= 0 {
            throw ModelError.badConfig(path: path, reason: "\(name) must be positive, got \(v)")
        }
    }
}

extension MambaLMConfig {
    func validate(path: String) throws {
        if nLayer <= 0 { throw ModelError.badConfig(path: path, reason: "n_layer must be positive, got \(nLayer)") }
        if vocabSize <= 0 { throw ModelError.badConfig(path: path, reason: "vocab_size must be positive, got \(vocabSize)") }
    }
}

extension CaduceusConfig {
    func validate(path: String) throws {
        if nLayer <= 0 { throw ModelError.badConfig(path: path, reason: "n_layer must be positive, got \(nLayer)") }
        if vocabSize <= 0 { throw ModelError.badConfig(path: path, reason: "vocab_size must be positive, got \(vocabSize)") }
        if let m = complementMap, m.contains(where: { $0 < 0 || $0 >= max(paddedVocabSize, m.count) }) {
            throw ModelError.badConfig(path: path, reason: "complement_map has ids outside the vocabulary")
        }
    }
}

/// Typed access to a JSON object; type errors name the file and the key.
struct JSONFields {
    let raw: [String: Any]
    let path: String
    init(_ raw: [String: Any], path: String) { self.raw = raw; self.path = path }

    func has(_ k: String) -> Bool { raw[k] != nil && !(raw[k] is NSNull) }
    private func bad(_ k: String, _ what: String) -> ModelError { .badConfig(path: path, reason: "'\(k)' is not \(what)") }

    /// Every integer of a config is a size, a count or an id: whole numbers written as such (`16`, `16.0`) of at
    /// most `maxInteger` either way. The bound keeps each product of sizes the loader forms (`expand · d_model`,
    /// padded vocabulary · d_model, ...) inside `Int`.
    func int(_ k: String) throws -> Int? {
        guard has(k) else { return nil }
        let outOfRange = bad(k, "an integer from -\(Self.maxInteger) to \(Self.maxInteger)")
        let v: Int
        if let i = raw[k] as? Int {
            v = i
        } else if let d = raw[k] as? Double, d == d.rounded() {
            guard abs(d) <= Double(Self.maxInteger) else { throw outOfRange }
            v = Int(d)
        } else {
            throw bad(k, "an integer")
        }
        guard (-Self.maxInteger...Self.maxInteger).contains(v) else { throw outOfRange }
        return v
    }

    /// 2^24: beyond any model dimension, layer count or vocabulary this tool runs.
    static let maxInteger = 1 << 24

    func requireInt(_ k: String) throws -> Int {
        guard let v = try int(k) else { throw ModelError.badConfig(path: path, reason: "'\(k)' is missing") }
        return v
    }
    func double(_ k: String) throws -> Double? {
        guard has(k) else { return nil }
        if let v = raw[k] as? Double { return v }
        throw bad(k, "a number")
    }
    func bool(_ k: String) throws -> Bool? {
        guard has(k) else { return nil }
        if let v = raw[k] as? Bool { return v }
        throw bad(k, "true/false")
    }
    func string(_ k: String) throws -> String? {
        guard has(k) else { return nil }
        if let v = raw[k] as? String { return v }
        return nil
    }
    func object(_ k: String) throws -> JSONFields? {
        guard has(k) else { return nil }
        if let v = raw[k] as? [String: Any] { return JSONFields(v, path: path) }
        throw bad(k, "an object")
    }
}
