/// Errors from loading or saving checkpoints. `description` is one line and names the file.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case corruptFile(path: String, reason: String)
    case badConfig(path: String, reason: String)
    case unknownArchitecture(path: String, reason: String)
    case missingTensor(path: String, name: String)
    case shapeMismatch(path: String, name: String, expected: [Int], actual: [Int])
    case unsupported(path: String, reason: String)
    case ioError(path: String, reason: String)
    /// A model or checkpoint directory that is not what the command needs (a plain encoder given as a classifier,
    /// a checkpoint of other data).
    case invalidModel(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let p): return "\(p): no such file"
        case .corruptFile(let p, let r): return "\(p): not a valid safetensors file: \(r)"
        case .badConfig(let p, let r): return "\(p): invalid model config: \(r)"
        case .unknownArchitecture(let p, let r): return "\(p): unknown model architecture: \(r)"
        case .missingTensor(let p, let n): return "\(p): tensor '\(n)' is missing"
        case .shapeMismatch(let p, let n, let e, let a):
            return "\(p): tensor '\(n)' has shape \(a), the config expects \(e)"
        case .unsupported(let p, let r): return "\(p): unsupported: \(r)"
        case .ioError(let p, let r), .invalidModel(let p, let r): return "\(p): \(r)"
        }
    }
}
