import FileOutput
import Foundation
import MambaModel

/// The genotype classifier: standardised candidate features → a small multilayer perceptron (ReLU)
/// → probabilities of three genotype classes, `0/0` (not a variant), `0/1`, `1/1`.
///
/// A model directory holds `config.json` (`model_type` `mamba-dna-variant-mlp`, feature names, layer
/// widths, the feature means and spreads) and `model.safetensors` (`layers.{i}.weight` (out, in) and
/// `layers.{i}.bias`, fp32). A model whose features include `ContextEmbedding.names` also holds the DNA
/// encoder it was trained with (`encoder/`): the genotyper's weights fit that encoder's embeddings, so the
/// pair travels together and replacing the bundled species model does not change the calls.
public final class VariantModel {
    public static let modelType = "mamba-dna-variant-mlp"
    public static let classes = ["0/0", "0/1", "1/1"]

    public let featureNames: [String]
    /// Widths from input to output: [features, hidden…, 3].
    public let widths: [Int]
    public var mean: [Float]
    public var scale: [Float]
    /// (weight (out, in), bias (out)) per layer.
    public let layers: [(weight: Tensor, bias: Tensor)]
    /// Free-form description of how the model was trained (kept in config.json).
    public var trainingInfo: [String: Any] = [:]
    /// The encoder whose embeddings are features; `nil` for pileup features only.
    public let contextEmbedding: ContextEmbedding?
    /// QUAL calibration fitted on validation data for these weights (`qual_calibration.json`); `nil` = raw QUAL.
    public var qualCalibration: QualCalibration?

    /// The feature names of a model with or without encoder features.
    public static func featureNames(contextEmbedding: Bool) -> [String] {
        VariantFeatures.names + (contextEmbedding ? ContextEmbedding.names : [])
    }

    /// A fresh model with He-initialised weights from `seed`.
    public init(hidden: [Int], seed: UInt64, contextEmbedding: ContextEmbedding? = nil) {
        let featureNames = Self.featureNames(contextEmbedding: contextEmbedding != nil)
        self.contextEmbedding = contextEmbedding
        self.featureNames = featureNames
        let widths = [featureNames.count] + hidden + [Self.classes.count]
        self.widths = widths
        mean = Array(repeating: 0, count: featureNames.count)
        scale = Array(repeating: 1, count: featureNames.count)
        var rng = SplitMix(seed)
        layers = (0..<(widths.count - 1)).map { i in
            let (n, m) = (widths[i + 1], widths[i])
            let s = Float((2.0 / Double(m)).squareRoot())
            let w = Tensor(shape: [n, m], values: (0..<(n * m)).map { _ in rng.normal() * s })
            return (w, Tensor(shape: [n]))
        }
    }

    /// Loads a model directory.
    /// - Throws: `ToolError` naming the file when config.json or model.safetensors is missing or
    ///   does not describe a variant model of this feature set.
    public init(directory: String) throws {
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configPath),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ToolError(file: directory, "not a variant model directory (config.json missing or not JSON)")
        }
        guard json["model_type"] as? String == Self.modelType,
              let names = json["features"] as? [String], let widths = json["widths"] as? [Int],
              let mean = (json["feature_mean"] as? [NSNumber])?.map({ $0.floatValue }),
              let scale = (json["feature_scale"] as? [NSNumber])?.map({ $0.floatValue }),
              widths.first == names.count, widths.last == Self.classes.count,
              mean.count == names.count, scale.count == names.count else {
            throw ToolError(file: configPath, "not a \(Self.modelType) config")
        }
        let usesEncoder = names == Self.featureNames(contextEmbedding: true)
        guard usesEncoder || names == Self.featureNames(contextEmbedding: false) else {
            throw ToolError(file: configPath, "model features do not match this version's (\(VariantFeatures.count) features"
                               + ", or \(VariantFeatures.count + ContextEmbedding.names.count) with encoder features)")
        }
        contextEmbedding = usesEncoder
            ? try ContextEmbedding(directory: (directory as NSString).appendingPathComponent(ContextEmbedding.directoryName))
            : nil
        featureNames = names
        self.widths = widths
        self.mean = mean
        self.scale = scale
        trainingInfo = json["training"] as? [String: Any] ?? [:]
        qualCalibration = try QualCalibration.load(directory: directory)
        let weightsPath = (directory as NSString).appendingPathComponent("model.safetensors")
        do {
            let file = try SafetensorsFile(path: weightsPath)
            layers = try (0..<(widths.count - 1)).map { i in
                let w = try file.floats("layers.\(i).weight"), b = try file.floats("layers.\(i).bias")
                guard w.shape == [widths[i + 1], widths[i]], b.shape == [widths[i + 1]] else {
                    throw ToolError(file: weightsPath, "layer \(i) does not match config.json's widths")
                }
                return (w, b)
            }
        } catch let e as ToolError { throw e } catch {
            throw ToolError(file: weightsPath, ErrorText.reason(error))
        }
    }

    /// Writes config.json and model.safetensors (and the encoder, `encoder/`) into `directory` (created if needed).
    public func save(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A calibration belongs to the weights it was fitted for: new weights start without one.
        let calibration = (directory as NSString).appendingPathComponent(QualCalibration.fileName)
        if FileManager.default.fileExists(atPath: calibration) { try FileManager.default.removeItem(atPath: calibration) }
        let encoderDirectory = (directory as NSString).appendingPathComponent(ContextEmbedding.directoryName)
        if FileManager.default.fileExists(atPath: encoderDirectory) { try FileManager.default.removeItem(atPath: encoderDirectory) }
        try contextEmbedding?.model.save(to: encoderDirectory)
        let config: [String: Any] = [
            "model_type": Self.modelType, "features": featureNames, "widths": widths,
            "classes": Self.classes, "feature_mean": mean, "feature_scale": scale, "training": trainingInfo,
        ]
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(data, to: (directory as NSString).appendingPathComponent("config.json"))
        var tensors: [(name: String, value: SafetensorsValue)] = []
        for (i, l) in layers.enumerated() {
            tensors.append(("layers.\(i).weight", .f32(l.weight)))
            tensors.append(("layers.\(i).bias", .f32(l.bias)))
        }
        try Safetensors.write(tensors, to: (directory as NSString).appendingPathComponent("model.safetensors"))
    }

    /// Sets `mean` and `scale` to the per-feature mean and standard deviation of `x` (rows × features; a feature
    /// that does not vary keeps scale 1).
    func setStandardisation(fromRows x: [Float]) {
        let f = featureNames.count
        let rows = x.count / max(f, 1)
        for j in 0..<f {
            var s = 0.0, s2 = 0.0
            for r in 0..<rows { let v = Double(x[r * f + j]); s += v; s2 += v * v }
            let m = s / Double(max(rows, 1))
            let sd = (max(0, s2 / Double(max(rows, 1)) - m * m)).squareRoot()
            mean[j] = Float(m)
            scale[j] = sd > 1e-6 ? Float(sd) : 1
        }
    }

    /// Standardised copy of row-major features (rows × features).
    func standardise(_ x: [Float]) -> [Float] {
        let f = featureNames.count
        var out = x
        for i in 0..<out.count { let j = i % f; out[i] = (out[i] - mean[j]) / scale[j] }
        return out
    }

    /// Forward pass over standardised inputs; returns every layer's output (pre-activation for the
    /// last, post-ReLU for hidden layers), the last being the logits (rows × 3).
    public func forward(_ x: [Float], rows: Int) -> [[Float]] {
        var acts: [[Float]] = []
        var input = x
        for (i, l) in layers.enumerated() {
            let n = widths[i + 1]
            var y = [Float](repeating: 0, count: rows * n)
            input.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { yb in
                    Gemm.linear(x: xb.baseAddress!, rows: rows, inFeatures: widths[i], weight: l.weight.ptr,
                                bias: l.bias.ptr, outFeatures: n, y: yb.baseAddress!)
                }
            }
            if i < layers.count - 1 { for k in 0..<y.count where y[k] < 0 { y[k] = 0 } }
            acts.append(y)
            input = y
        }
        return acts
    }

    /// Genotype-class probabilities (rows × 3, softmax) for raw features (rows × features).
    public func probabilities(features: [Float], rows: Int) -> [Float] {
        guard rows > 0 else { return [] }
        var logits = forward(standardise(features), rows: rows).last!
        for r in 0..<rows {
            let row = r * 3
            let m = max(logits[row], logits[row + 1], logits[row + 2])
            var s: Float = 0
            for k in 0..<3 { logits[row + k] = Foundation.exp(logits[row + k] - m); s += logits[row + k] }
            for k in 0..<3 { logits[row + k] /= s }
        }
        return logits
    }
}

/// Small deterministic generator for weight initialisation.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }
    mutating func normal() -> Float {
        let u = max(uniform(), 1e-7), v = uniform()
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * .pi * v)
    }
}
