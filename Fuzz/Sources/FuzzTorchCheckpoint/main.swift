import Foundation
import FuzzSupport
import MambaModel

/// `pytorch_model.bin` (torch zip + pickle): the input is parsed from memory with every tensor converted (so that
/// AddressSanitizer sees reads past the data; the loader maps the file), then loaded as a model directory beside
/// a fixed config.json, the one of the seed checkpoints (Fixtures/fuzz/torch-checkpoint).
private let config = """
    {"d_model": 4, "n_layer": 1, "vocab_size": 8, "pad_vocab_size_multiple": 8,
     "ssm_cfg": {"d_state": 2, "d_conv": 2, "expand": 2}, "rms_norm": true, "tie_embeddings": true}
    """

private let directory: String = {
    let dir = Scratch.emptyFolder("torch")
    _ = FileManager.default.createFile(atPath: dir + "/config.json", contents: Data(config.utf8))
    return dir
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(start: data, count: size)
    let path = directory + "/pytorch_model.bin"
    guard write(input, to: path) else { return 0 }

    _ = fuzzReturn {
        let file = try TorchCheckpointFile(path: path, data: heapData(input))
        for name in file.shapes.keys.sorted() {
            _ = try file.floats(name)
            _ = try file.integers(name)
        }
    }
    return fuzzReturn { _ = try MambaCheckpoint.load(directory) }
}

runFuzzer { data, size in fuzzOne(data ?? UnsafePointer(bitPattern: 1)!, size) }
