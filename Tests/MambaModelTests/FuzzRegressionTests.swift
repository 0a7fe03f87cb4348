import Foundation
import TestSupport
import XCTest
@testable import MambaModel

/// Inputs that crashed the fuzz harnesses (`Fixtures/fuzz/crashers/HARNESS/`, see Fuzz/README.md), loaded through
/// the calls the harness makes: each must end in an error that names the file, never in a crash. Every file in the
/// folders is checked, so a new crasher needs no change here.
final class FuzzRegressionTests: XCTestCase {
    /// The config.json the torch-checkpoint harness puts beside each input.
    static let torchConfig = """
        {"d_model": 4, "n_layer": 1, "vocab_size": 8, "pad_vocab_size_multiple": 8,
         "ssm_cfg": {"d_state": 2, "d_conv": 2, "expand": 2}, "rms_norm": true, "tie_embeddings": true}
        """

    func testTorchCheckpointCrashers() throws {
        for crasher in try FuzzCrashers.files("torch-checkpoint") {
            let dir = temporaryDirectory("fuzz-torch")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let data = try Data(contentsOf: crasher)
            let path = dir + "/pytorch_model.bin"
            try data.write(to: URL(fileURLWithPath: path))
            try Data(Self.torchConfig.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
            let errors = FuzzCrashers.errors(
                {
                    let file = try TorchCheckpointFile(path: path, data: data)
                    for name in file.shapes.keys.sorted() {
                        _ = try file.floats(name)
                        _ = try file.integers(name)
                    }
                },
                { _ = try MambaCheckpoint.load(dir) })
            check(errors, name: crasher.lastPathComponent, dir: dir)
        }
    }

    func testSafetensorsCrashers() throws {
        for crasher in try FuzzCrashers.files("safetensors") {
            let dir = temporaryDirectory("fuzz-safetensors")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            // The harness's split: a 2-byte little-endian length, config.json, then model.safetensors.
            let data = try Data(contentsOf: crasher)
            let bytes = [UInt8](data)
            let n = bytes.count >= 2 ? min(Int(bytes[0]) | Int(bytes[1]) << 8, bytes.count - 2) : 0
            let config = bytes.count >= 2 ? Data(bytes[2..<(2 + n)]) : Data()
            let weights = bytes.count >= 2 ? Data(bytes[(2 + n)...]) : Data(bytes)
            try config.write(to: URL(fileURLWithPath: dir + "/config.json"))
            try weights.write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
            let errors = FuzzCrashers.errors(
                {
                    let file = try SafetensorsFile(path: dir + "/model.safetensors", data: weights)
                    for name in file.names { _ = try file.floats(name) }
                },
                { _ = try ModelConfig.load(path: dir + "/config.json") },
                { _ = try MambaCheckpoint.load(dir) },
                { if ClassifierDirectory.isClassifier(dir) { _ = try ClassifierDirectory.load(dir) } })
            check(errors, name: crasher.lastPathComponent, dir: dir)
        }
    }

    // MARK: - helpers

    /// At least one step failed, and every failure is a `ModelError` naming a file of the model directory.
    private func check(_ errors: [Error], name: String, dir: String) {
        XCTAssertFalse(errors.isEmpty, "\(name): loaded without an error")
        for error in errors {
            XCTAssertTrue(error is ModelError && "\(error)".contains(dir), "\(name): \(error)")
        }
    }
}
