import DNATasks
import Foundation
import FuzzSupport
import MambaModel

/// A model directory: the input is split in two (`splitTwo`: 2-byte length, then config.json, then
/// model.safetensors). The safetensors part is parsed from memory too, with every tensor converted, so that
/// AddressSanitizer sees reads past the data (the loader maps the file). The directory is then loaded as `embed`
/// loads a model, as `classify` loads a classifier when config.json declares one, and described as `info` does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let (config, weights) = splitTwo(FuzzInput(start: data, count: size))
    let dir = Scratch.emptyFolder("model")
    guard write(config, to: dir + "/config.json"), write(weights, to: dir + "/model.safetensors") else { return 0 }

    _ = fuzzReturn {
        let file = try SafetensorsFile(path: dir + "/model.safetensors", data: heapData(weights))
        _ = file.metadata
        for name in file.names {
            _ = try file.floats(name)
            _ = try? file.integers(name)
            _ = try? file.bytes(name)
        }
    }
    _ = fuzzReturn { _ = try ModelConfig.load(path: dir + "/config.json") }
    _ = fuzzReturn { _ = try MambaCheckpoint.load(dir) }
    _ = fuzzReturn { if ClassifierDirectory.isClassifier(dir) { _ = try ClassifierDirectory.load(dir) } }
    return fuzzReturn { _ = try FileInfo.describe(path: dir) }
}

runFuzzer { data, size in fuzzOne(data ?? UnsafePointer(bitPattern: 1)!, size) }
