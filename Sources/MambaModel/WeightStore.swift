import Foundation

/// A file of named tensors: safetensors or a torch zip checkpoint.
public protocol TensorFile {
    var path: String { get }
    var shapes: [String: [Int]] { get }
    func floats(_ name: String) throws -> Tensor
    func integers(_ name: String) throws -> [Int64]
}

extension SafetensorsFile: TensorFile {
    public var shapes: [String: [Int]] { entries.mapValues(\.shape) }
}

/// The tensors of a checkpoint directory: `model.safetensors`, or the shards listed in
/// `model.safetensors.index.json` (`weight_map`: name → shard file); failing those, the same for
/// `pytorch_model.bin` (torch zip format), as older Hub checkpoints such as state-spaces/mamba-130m ship.
public struct WeightStore {
    public let directory: String
    private var files: [any TensorFile] = []
    private var location: [String: Int] = [:]   // tensor name → index into files
    private var shapeOf: [String: [Int]] = [:]

    public init(directory: String) throws {
        self.directory = directory
        let dir = URL(fileURLWithPath: directory)
        let fm = FileManager.default
        func open(_ path: String) throws -> any TensorFile {
            path.hasSuffix(".bin") ? try TorchCheckpointFile(path: path) : try SafetensorsFile(path: path)
        }
        let primary = dir.appendingPathComponent("model.safetensors").path
        for base in ["model.safetensors", "pytorch_model.bin"] {
            let single = dir.appendingPathComponent(base).path
            let index = single + ".index.json"
            if fm.fileExists(atPath: single) {
                try add(open(single))
                return
            }
            guard fm.fileExists(atPath: index) else { continue }
            guard let data = fm.contents(atPath: index),
                  let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                  let map = obj["weight_map"] as? [String: String] else {
                throw ModelError.corruptFile(path: index, reason: "no weight_map object")
            }
            var shardIndex: [String: Int] = [:]
            for shard in Set(map.values).sorted() {
                guard !shard.contains("/") else { throw ModelError.corruptFile(path: index, reason: "shard name '\(shard)'") }
                shardIndex[shard] = files.count
                try add(open(dir.appendingPathComponent(shard).path))
            }
            for (name, shard) in map {
                guard let f = shardIndex[shard], files[f].shapes[name] != nil else {
                    throw ModelError.missingTensor(path: dir.appendingPathComponent(shard).path, name: name)
                }
            }
            return
        }
        throw ModelError.fileNotFound(path: primary)
    }

    /// A store over one tensor file.
    public init(file: any TensorFile) throws {
        directory = URL(fileURLWithPath: file.path).deletingLastPathComponent().path
        try add(file)
    }

    private mutating func add(_ f: any TensorFile) throws {
        let i = files.count
        files.append(f)
        for (name, shape) in f.shapes {
            shapeOf[name] = shape
            if let j = location[name], j != i {
                throw ModelError.corruptFile(path: f.path, reason: "tensor '\(name)' also in \(files[j].path)")
            }
            location[name] = i
        }
    }

    public var names: [String] { location.keys.sorted() }
    public func has(_ name: String) -> Bool { location[name] != nil }
    public func shape(_ name: String) -> [Int]? { shapeOf[name] }

    /// Path shown in errors about `name`: its shard, or the primary file.
    public func path(of name: String) -> String {
        if let i = location[name] { return files[i].path }
        return files.first?.path ?? URL(fileURLWithPath: directory).appendingPathComponent("model.safetensors").path
    }

    /// The tensor as fp32, checked against `shape`.
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        guard let i = location[name], let actual = shapeOf[name] else {
            throw ModelError.missingTensor(path: path(of: name), name: name)
        }
        guard actual == shape else {
            throw ModelError.shapeMismatch(path: files[i].path, name: name, expected: shape, actual: actual)
        }
        let t = try files[i].floats(name)
        // A NaN or infinite weight makes every output NaN: refuse the file at load, naming the tensor. (Tensors
        // held in memory are a running model's own, checked when they were read.)
        if !(files[i] is MemoryTensorFile) {
            for k in 0..<t.count where !t.data[k].isFinite {
                throw ModelError.corruptFile(path: files[i].path,
                                             reason: "tensor '\(name)' holds a non-finite value (\(t.data[k]) at index \(k))")
            }
        }
        return t
    }

    public func integers(_ name: String) throws -> [Int64] {
        guard let i = location[name] else { throw ModelError.missingTensor(path: path(of: name), name: name) }
        return try files[i].integers(name)
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
