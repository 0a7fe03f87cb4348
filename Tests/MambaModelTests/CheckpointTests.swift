import Foundation
import XCTest
@testable import MambaModel

/// Checkpoint files: round trips, conversions and every kind of bad input.
final class CheckpointTests: XCTestCase {
    let fixtures = ["mamba_lm", "mamba_hf", "caduceus/caduceus_ph", "caduceus/caduceus_ps", "caduceus/caduceus_ps_unfused"]

    func testSaveLoadRoundTrip() throws {
        for name in fixtures {
            let model = try MambaCheckpoint.load(Fixtures.dir(name))
            let dir = temporaryDirectory("roundtrip")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try model.save(to: dir)
            let again = try MambaCheckpoint.load(dir)
            let x = randomDNA(64, seed: 9)
            XCTAssertEqual(model.hiddenStates(x), again.hiddenStates(x), name)
            XCTAssertEqual(try ModelConfig.load(path: dir + "/config.json"),
                           try ModelConfig.load(path: Fixtures.dir(name) + "/config.json"), name)
            // Same tensor names as the reference wrote.
            let original = try SafetensorsFile(path: Fixtures.dir(name) + "/model.safetensors")
            let saved = try SafetensorsFile(path: dir + "/model.safetensors")
            XCTAssertEqual(Set(saved.entries.keys), Set(original.entries.keys), name)
            for (k, e) in original.entries { XCTAssertEqual(saved.entries[k]?.shape, e.shape, "\(name) \(k)") }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
            XCTAssertEqual(leftovers, [], "temporary files left behind")
        }
    }

    func testHalfPrecisionAndMetadata() throws {
        let dir = temporaryDirectory("half")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // F16: 1.0, -2.0, 65504, 2^-24 (subnormal); BF16: 1.0, -0.5
        let f16: [UInt16] = [0x3c00, 0xc000, 0x7bff, 0x0001]
        let bf16: [UInt16] = [0x3f80, 0xbf00]
        let header = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        for v in f16 + bf16 { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: URL(fileURLWithPath: dir + "/h.safetensors"))
        let f = try SafetensorsFile(path: dir + "/h.safetensors")
        XCTAssertEqual(f.metadata, ["k": "v"])
        XCTAssertEqual(try f.floats("a").array, [1, -2, 65504, 0x1p-24])
        XCTAssertEqual(try f.floats("b").array, [1, -0.5])
        // writer → reader
        try Safetensors.write([("x", .floats(shape: [3], values: [1, 2, 3])), ("i", .i64(shape: [2], values: [5, -1]))],
                              metadata: ["format": "pt"], to: dir + "/w.safetensors")
        let w = try SafetensorsFile(path: dir + "/w.safetensors")
        XCTAssertEqual(try w.floats("x").array, [1, 2, 3])
        XCTAssertEqual(try w.integers("i"), [5, -1])
        XCTAssertEqual(w.names, ["x", "i"])
    }

    // MARK: bad inputs

    /// Copy of a fixture directory to damage.
    func scratchCopy(_ name: String) throws -> String {
        let dir = temporaryDirectory("bad")
        for f in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(atPath: Fixtures.dir(name) + "/" + f, toPath: dir + "/" + f)
        }
        for f in ["config.json", "model.safetensors"] {  // fixture files are read-only
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir + "/" + f)
        }
        return dir
    }

    func expectError(_ dir: String, file: String, contains needle: String, line: UInt = #line,
                     _ check: (ModelError) -> Bool) {
        do {
            _ = try MambaCheckpoint.load(dir)
            XCTFail("loaded a bad checkpoint", line: line)
        } catch let e as ModelError {
            let msg = e.description
            print("expected error: \(msg)")
            XCTAssertTrue(check(e), "unexpected error kind: \(msg)", line: line)
            XCTAssertTrue(msg.contains(file), "message does not name \(file): \(msg)", line: line)
            XCTAssertTrue(msg.contains(needle), "message lacks '\(needle)': \(msg)", line: line)
            XCTAssertFalse(msg.contains("\n"), "not one line: \(msg)", line: line)
        } catch {
            XCTFail("not a ModelError: \(error)", line: line)
        }
    }

    func testTruncatedSafetensors() throws {
        let dir = try scratchCopy("caduceus/caduceus_ps")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/model.safetensors"
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        try full.prefix(full.count - 100).write(to: URL(fileURLWithPath: path))
        expectError(dir, file: path, contains: "beyond") { if case .corruptFile = $0 { return true }; return false }
        try full.prefix(5).write(to: URL(fileURLWithPath: path))
        expectError(dir, file: path, contains: "8-byte") { if case .corruptFile = $0 { return true }; return false }
        try full.prefix(100).write(to: URL(fileURLWithPath: path))
        expectError(dir, file: path, contains: "header length") { if case .corruptFile = $0 { return true }; return false }
        try Data().write(to: URL(fileURLWithPath: path))
        expectError(dir, file: path, contains: "shorter") { if case .corruptFile = $0 { return true }; return false }
    }

    func testHeaderOffsetsBeyondFile() throws {
        let dir = temporaryDirectory("offsets")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/model.safetensors"
        func write(_ header: String, dataBytes: Int) throws {
            var d = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: Array(header.utf8))
            d.append(Data(count: dataBytes))
            try d.write(to: URL(fileURLWithPath: path))
        }
        try FileManager.default.copyItem(atPath: Fixtures.dir("mamba_lm") + "/config.json", toPath: dir + "/config.json")
        try write(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[1000],"data_offsets":[16,4016]}}"#, dataBytes: 32)
        expectError(dir, file: path, contains: "beyond") { if case .corruptFile = $0 { return true }; return false }
        try write(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}}"#, dataBytes: 12)
        expectError(dir, file: path, contains: "needs 16") { if case .corruptFile = $0 { return true }; return false }
        try write(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, dataBytes: 12)
        expectError(dir, file: path, contains: "non-contiguous") { if case .corruptFile = $0 { return true }; return false }
        try write(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#, dataBytes: 4)
        expectError(dir, file: path, contains: "JSON") { if case .corruptFile = $0 { return true }; return false }
        try write(#"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4)
        expectError(dir, file: path, contains: "dtype") { if case .corruptFile = $0 { return true }; return false }
        // 2³¹ × 2³¹ elements fit in Int, their bytes do not: a clean error, not an arithmetic trap.
        try write(#"{"a":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,16]}}"#, dataBytes: 16)
        expectError(dir, file: path, contains: "too large") { if case .corruptFile = $0 { return true }; return false }
    }

    /// A weight that is NaN or infinite is refused at load, naming the tensor (it would make every output NaN).
    func testNonFiniteWeightIsRefused() throws {
        let model = try MambaCheckpoint.load(Fixtures.dir("mamba_lm"))
        for bad in [Float.nan, -Float.infinity] {
            let dir = temporaryDirectory("nonfinite")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try model.save(to: dir)
            let path = dir + "/model.safetensors"
            let file = try SafetensorsFile(path: path)
            let name = try XCTUnwrap(file.entries.keys.sorted().first { $0.hasSuffix("in_proj.weight") })
            let values: [(name: String, value: SafetensorsValue)] = try file.entries.keys.sorted().map { key in
                let t = try file.floats(key)
                if key == name { t.data[3] = bad }
                return (key, .f32(t))
            }
            try Safetensors.write(values, to: path)
            expectError(dir, file: path, contains: name) { if case .corruptFile = $0 { return true }; return false }
        }
    }

    func testConfigTensorMismatch() throws {
        let dir = try scratchCopy("caduceus/caduceus_ps")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cfg = dir + "/config.json"
        let text = try String(contentsOfFile: cfg, encoding: .utf8)
        try text.replacingOccurrences(of: "\"d_state\": 16", with: "\"d_state\": 8").write(toFile: cfg, atomically: true, encoding: .utf8)
        // x_proj = [dt | B | C] is the first tensor whose shape depends on d_state: 2 + 2·8 rows expected, 2 + 2·16 stored
        expectError(dir, file: dir + "/model.safetensors", contains: "mamba_fwd.x_proj.weight") {
            if case .shapeMismatch(_, _, let expected, let actual) = $0 { return expected == [18, 64] && actual == [34, 64] }
            return false
        }
        try text.replacingOccurrences(of: "\"n_layer\": 2", with: "\"n_layer\": 3").write(toFile: cfg, atomically: true, encoding: .utf8)
        expectError(dir, file: dir + "/model.safetensors", contains: "layers.2") { if case .missingTensor = $0 { return true }; return false }
    }

    func testUnknownArchitecture() throws {
        let dir = try scratchCopy("mamba_hf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cfg = dir + "/config.json"
        let text = try String(contentsOfFile: cfg, encoding: .utf8)
        try text.replacingOccurrences(of: "\"model_type\": \"mamba\"", with: "\"model_type\": \"llama\"")
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        expectError(dir, file: cfg, contains: "llama") { if case .unknownArchitecture = $0 { return true }; return false }
        try "{\"hidden\": 3}".write(toFile: cfg, atomically: true, encoding: .utf8)
        expectError(dir, file: cfg, contains: "model_type") { if case .unknownArchitecture = $0 { return true }; return false }
        try "not json".write(toFile: cfg, atomically: true, encoding: .utf8)
        expectError(dir, file: cfg, contains: "JSON") { if case .badConfig = $0 { return true }; return false }
    }

    func testMissingFiles() throws {
        let dir = try scratchCopy("mamba_lm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
        expectError(dir, file: dir + "/model.safetensors", contains: "no such file") { if case .fileNotFound = $0 { return true }; return false }
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        expectError(dir, file: dir + "/config.json", contains: "no such file") { if case .fileNotFound = $0 { return true }; return false }
        expectError(dir + "/nope", file: dir + "/nope", contains: "no such file") { if case .fileNotFound = $0 { return true }; return false }
    }

    /// The same weights split over two shards with an index, as large Hub checkpoints are.
    func testShardedCheckpoint() throws {
        let dir = temporaryDirectory("sharded")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = try SafetensorsFile(path: Fixtures.dir("mamba_lm") + "/model.safetensors")
        let names = src.names
        let half = names.count / 2
        var map: [String: String] = [:]
        for (file, part) in [("model-00001-of-00002.safetensors", names[..<half]), ("model-00002-of-00002.safetensors", names[half...])] {
            try Safetensors.write(part.map { (name: $0, value: SafetensorsValue.f32(try src.floats($0))) }, to: dir + "/" + file)
            for n in part { map[n] = file }
        }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": [String: Any](), "weight_map": map])
        try index.write(to: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))
        try FileManager.default.copyItem(atPath: Fixtures.dir("mamba_lm") + "/config.json", toPath: dir + "/config.json")
        let a = try MambaCheckpoint.load(dir), b = try MambaCheckpoint.load(Fixtures.dir("mamba_lm"))
        let x = randomDNA(40, seed: 1)
        XCTAssertEqual(a.hiddenStates(x), b.hiddenStates(x))
    }
}
