import Foundation
import MambaKernels

/// The encoders this package trains, as `train --arch` names them.
public enum EncoderArchitecture: String, CaseIterable, Sendable {
    /// Caduceus with RCPS: bidirectional and reverse-complement equivariant.
    case caduceusPS = "caduceus-ps"
    /// Caduceus without RCPS: bidirectional.
    case caduceusPH = "caduceus-ph"
    /// mamba_ssm MixerModel: causal.
    case mamba

    /// The architecture of a loaded model; nil for one this package cannot train.
    public init?(of model: any SequenceModel) {
        if model is MambaLMModel { self = .mamba; return }
        guard let c = model as? CaduceusModel else { return nil }
        self = c.config.rcps ? .caduceusPS : .caduceusPH
    }
}

/// The backbone of a `SequenceClassifier`: a Mamba LM or a Caduceus model without its LM head's use.
///
/// The head reads `dModel` features per position. Those are the final hidden states, except for RCPS
/// Caduceus, whose (T, 2d) states hold the forward strand and the reverse-complement strand with its channels
/// reversed: there the features are the mean of the two strands, `e[t,c] = ½(h[t,c] + h[t,2d−1−c])`.
/// For mean pooling this is exactly Caduceus' own `CaduceusForSequenceClassification` (the head on each
/// strand's pooled states, averaged), and the features of a read's reverse complement are its own features
/// in reverse order, so every pooling gives a strand-invariant prediction without running the read twice.
public enum ClassifierEncoder {
    case mamba(MambaLMModel)
    case caduceus(CaduceusModel)

    /// Wraps a loaded model; nil for an architecture the classifier cannot train.
    public init?(_ model: any SequenceModel) {
        if let m = model as? MambaLMModel { self = .mamba(m) }
        else if let m = model as? CaduceusModel { self = .caduceus(m) }
        else { return nil }
    }

    public var model: any SequenceModel {
        switch self {
        case .mamba(let m): return m
        case .caduceus(let m): return m
        }
    }

    public var architecture: EncoderArchitecture {
        switch self {
        case .mamba: return .mamba
        case .caduceus(let m): return m.config.rcps ? .caduceusPS : .caduceusPH
        }
    }

    public var dModel: Int { model.modelDim }
    public var vocabSize: Int { model.vocabSize }

    public var layerCount: Int {
        switch self {
        case .mamba(let m): return m.layers.count
        case .caduceus(let m): return m.layers.count
        }
    }

    public var mixer: MixerConfig {
        switch self {
        case .mamba(let m): return m.config.mixer
        case .caduceus(let m): return m.config.mixer
        }
    }

    /// True when the features of a read's reverse complement are the read's own in reverse order (RCPS), so
    /// averaging a prediction over both strands changes nothing.
    public var isReverseComplementEquivariant: Bool {
        if case .caduceus(let m) = self { return m.config.rcps }
        return false
    }

    /// The trainable tensors under their checkpoint names (tied aliases listed once).
    public var namedTensors: [(String, Tensor)] {
        switch self {
        case .mamba(let m): return m.namedTensors()
        case .caduceus(let m): return m.trainableTensors()
        }
    }

    /// Every stored tensor (Caduceus' complement maps too), as the model's own checkpoint holds them.
    package var checkpointValues: [(String, SafetensorsValue)] {
        switch self {
        case .mamba(let m): return m.namedTensors().map { ($0.0, .f32($0.1)) }
        case .caduceus(let m): return m.namedTensors()
        }
    }

    /// The model's own config.json entries.
    package var configJSON: [String: Any] {
        switch self {
        case .mamba(let m): return ModelConfig.mamba(m.config).json()
        case .caduceus(let m): return ModelConfig.caduceus(m.config).json()
        }
    }

    /// Sets the precision of the backbone's projections (see `Precision`).
    public mutating func usePrecision(_ p: Precision, features: CPUFeatures = .current) -> PrecisionChoice {
        switch self {
        case .mamba(var m):
            let c = m.usePrecision(p, features: features)
            self = .mamba(m)
            return c
        case .caduceus(var m):
            let c = m.usePrecision(p, features: features)
            self = .caduceus(m)
            return c
        }
    }

    /// A deep copy: the weights at this moment (in fp32: a bf16 setting is not copied).
    public func copy() throws -> ClassifierEncoder {
        var t: [String: Tensor] = [:]
        switch self {
        case .mamba(let m):
            for (name, tensor) in m.namedTensors() { t[name] = tensor.copy() }
            return .mamba(try MambaLMModel.load(WeightStore(file: MemoryTensorFile(t)), config: m.config))
        case .caduceus(let m):
            for (name, value) in m.namedTensors() {
                switch value {
                case .f32(let tensor): t[name] = tensor.copy()
                case .floats(let shape, let values): t[name] = Tensor(shape: shape, values: values)
                case .i64(let shape, let values): t[name] = Tensor(shape: shape, values: values.map(Float.init))
                case .u8(let shape, let values): t[name] = Tensor(shape: shape, values: values.map(Float.init))
                }
            }
            return .caduceus(try CaduceusModel.load(WeightStore(file: MemoryTensorFile(t)), config: m.config))
        }
    }

    /// (T, dModel) features of sequences packed back to back (see the type's comment); inference path.
    public func hiddenStates(packed tokens: [Int32], segments: Segments, threads: Int = 1) -> [Float] {
        let h = model.hiddenStates(packed: tokens, segments: segments, threads: threads)
        guard isReverseComplementEquivariant else { return h }
        let d = dModel
        var e = [Float](repeating: 0, count: tokens.count * d)
        h.withUnsafeBufferPointer { hp in
            e.withUnsafeMutableBufferPointer { ep in
                Self.mergeStrands(hp.baseAddress!, rows: tokens.count, dim: d, into: ep.baseAddress!)
            }
        }
        return e
    }

    /// e[t, c] = ½(h[t, c] + h[t, 2d−1−c]) of (T, 2d) RCPS states.
    package static func mergeStrands(_ h: UnsafePointer<Float>, rows T: Int, dim d: Int, into e: UnsafeMutablePointer<Float>) {
        for t in 0..<T {
            let row = h + t * 2 * d, out = e + t * d
            for c in 0..<d { out[c] = 0.5 * (row[c] + row[2 * d - 1 - c]) }
        }
    }
}
