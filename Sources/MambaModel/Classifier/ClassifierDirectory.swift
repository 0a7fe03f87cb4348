import FileOutput
import Foundation

/// A classifier model directory, laid out like a Hugging Face checkpoint:
///   config.json            the backbone's config (mamba_ssm, or Caduceus with `model_type: caduceus`) +
///                          `architectures`, `encoder` (mamba, caduceus-ps or caduceus-ph), `labels`, `id2label`,
///                          `label2id`, `num_labels`, `pooling`, `rc_average`
///   model.safetensors      backbone tensors (the reference's names) + `classifier.weight` (C, d), `classifier.bias` (C)
///   tokenizer_config.json, vocab.json   the character tokenizer (Caduceus / HyenaDNA ids)
/// The backbone part loads as a plain Mamba or Caduceus model too (`MambaCheckpoint.load`, e.g. for `embed`):
/// the extra keys and tensors are ignored there.
public enum ClassifierDirectory {

    public static func save(_ model: SequenceClassifier, to directory: String, extra: [String: Any] = [:]) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        catch { throw ModelError.ioError(path: directory, reason: "cannot create directory: \(ErrorText.reason(error))") }
        let dir = URL(fileURLWithPath: directory)
        var config = model.encoder.configJSON
        config["architectures"] = [SequenceClassifier.architecture]
        config["encoder"] = model.encoder.architecture.rawValue
        config["labels"] = model.labels
        config["num_labels"] = model.labels.count
        config["id2label"] = Dictionary(uniqueKeysWithValues: model.labels.enumerated().map { (String($0.offset), $0.element) })
        config["label2id"] = Dictionary(uniqueKeysWithValues: model.labels.enumerated().map { ($0.element, $0.offset) })
        config["pooling"] = model.pooling.rawValue
        config["rc_average"] = model.rcAverage
        for (k, v) in extra { config[k] = v }
        let head = [("classifier.weight", model.head), ("classifier.bias", model.headBias)]
        try Safetensors.write((model.encoder.checkpointValues + head.map { ($0.0, .f32($0.1)) }).map { (name: $0.0, value: $0.1) },
                              metadata: ["format": "pt"], to: dir.appendingPathComponent("model.safetensors").path)
        try writeJSON(config, to: dir.appendingPathComponent("config.json").path)
        try TokenizerFiles.write(to: directory)
    }

    /// True when `directory/config.json` declares a sequence classifier.
    public static func isClassifier(_ directory: String) -> Bool {
        guard let obj = try? readConfig(directory) else { return false }
        return (obj["architectures"] as? [String])?.contains(SequenceClassifier.architecture) ?? false
    }

    public static func load(_ directory: String) throws -> SequenceClassifier {
        let obj = try readConfig(directory)
        let configPath = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
        guard (obj["architectures"] as? [String])?.contains(SequenceClassifier.architecture) ?? false else {
            throw ModelError.invalidModel(path: directory, reason: "not a sequence-classifier model (config.json has no architectures: [\"\(SequenceClassifier.architecture)\"])")
        }
        guard let labels = obj["labels"] as? [String], labels.count >= 2 else {
            throw ModelError.invalidModel(path: configPath, reason: "'labels' must list at least two class names")
        }
        var pooling = ClassifierPooling.mean
        if let p = obj["pooling"] {
            guard let name = p as? String, let known = ClassifierPooling(rawValue: name) else {
                throw ModelError.invalidModel(path: configPath, reason: "pooling '\(p)' is not supported (mean, max or logsumexp)")
            }
            pooling = known
        }
        let backbone = try MambaCheckpoint.load(directory)
        guard let encoder = ClassifierEncoder(backbone) else {
            throw ModelError.invalidModel(path: directory, reason: "the classifier backbone must be a Mamba (mamba_ssm) or Caduceus model, not \(backbone.architecture)")
        }
        if let named = obj["encoder"], named as? String != encoder.architecture.rawValue {
            throw ModelError.invalidModel(path: configPath, reason: "encoder '\(named)' does not match the backbone config (\(encoder.architecture.rawValue))")
        }
        let store = try WeightStore(directory: directory)
        let d = encoder.dModel
        let head = try store.tensor("classifier.weight", shape: [labels.count, d])
        let bias = try store.tensor("classifier.bias", shape: [labels.count])
        return SequenceClassifier(encoder: encoder, head: head, headBias: bias, labels: labels,
                                  rcAverage: obj["rc_average"] as? Bool ?? true, pooling: pooling)
    }

    static func readConfig(_ directory: String) throws -> [String: Any] {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelError.fileNotFound(path: path) }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.badConfig(path: path, reason: "not a JSON object")
        }
        return obj
    }

    package static func writeJSON(_ obj: Any, to path: String) throws {
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]) }
        catch { throw ModelError.ioError(path: path, reason: "cannot encode JSON: \(ErrorText.reason(error))") }
        try writeAtomically(data + Data("\n".utf8), to: path)
    }
}
