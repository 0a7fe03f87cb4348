import Foundation
import XCTest
@testable import MambaModel

/// `pytorch_model.bin` (torch zip + pickle) checkpoints load like safetensors ones.
final class TorchCheckpointTests: XCTestCase {
    /// The mamba_lm fixture rewritten the way `torch.save(state_dict)` lays it out: the tied lm_head shares the
    /// embedding's storage, and one weight is stored transposed (a strided view) to exercise stride handling.
    func writeTorchCopy(of name: String, to dir: String) throws {
        let src = try SafetensorsFile(path: Fixtures.dir(name) + "/model.safetensors")
        var pkl: [UInt8] = [0x80, 0x02]
        func op(_ s: String) { pkl += Array(s.utf8) }
        func str(_ s: String) { pkl.append(0x58); le(UInt32(s.utf8.count)); pkl += Array(s.utf8) }
        func int(_ v: Int) { pkl.append(0x4A); le(UInt32(bitPattern: Int32(v))) }
        func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { pkl += $0 } }
        func tuple(_ v: [Int]) { op("("); v.forEach(int); op("t") }
        var storages: [(String, [UInt8])] = []
        var keyOf: [String: String] = [:]
        op("ccollections\nOrderedDict\n)R(")
        for n in src.names {
            let t = try src.floats(n)
            let shape = t.shape
            var stride = shape.indices.map { shape[($0 + 1)...].reduce(1, *) }
            var values = t.array
            if n == "backbone.layers.0.mixer.x_proj.weight" {  // store Wᵀ, view it back with swapped strides
                let (r, c) = (shape[0], shape[1])
                values = (0..<(r * c)).map { i in t.array[(i % r) * c + i / r] }
                stride = [1, r]
            }
            let key: String
            if n == "lm_head.weight", let k = keyOf["backbone.embedding.weight"] { key = k } else {
                key = String(storages.count)
                storages.append((key, values.withUnsafeBytes { Array($0) }))
            }
            keyOf[n] = key
            str(n)
            op("ctorch._utils\n_rebuild_tensor_v2\n((")
            str("storage"); op("ctorch\nFloatStorage\n"); str(key); str("cpu"); int(values.count); op("tQ")
            int(0); tuple(shape); tuple(stride)
            pkl.append(0x89)
            op("ccollections\nOrderedDict\n)Rt")
            op("R")
        }
        op("u.")
        let entries = [("archive/data.pkl", pkl), ("archive/byteorder", Array("little".utf8))]
            + storages.map { ("archive/data/\($0.0)", $0.1) } + [("archive/version", Array("3\n".utf8))]
        try Data(zipStored(entries)).write(to: URL(fileURLWithPath: dir + "/pytorch_model.bin"))
        try FileManager.default.copyItem(atPath: Fixtures.dir(name) + "/config.json", toPath: dir + "/config.json")
    }

    func testTorchCheckpointMatchesSafetensors() throws {
        let dir = temporaryDirectory("torch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeTorchCopy(of: "mamba_lm", to: dir)
        let a = try MambaCheckpoint.load(dir), b = try MambaCheckpoint.load(Fixtures.dir("mamba_lm"))
        let x = randomDNA(80, seed: 4)
        XCTAssertEqual(a.hiddenStates(x), b.hiddenStates(x))
        XCTAssertEqual(a.logits(x), b.logits(x))

        // truncated: a clear one-line error naming the file
        let bin = dir + "/pytorch_model.bin"
        let full = try Data(contentsOf: URL(fileURLWithPath: bin))
        try full.prefix(full.count - 200).write(to: URL(fileURLWithPath: bin))
        XCTAssertThrowsError(try MambaCheckpoint.load(dir)) { e in
            let msg = "\(e)"
            XCTAssertTrue(msg.contains(bin) && msg.contains("truncated"), msg)
        }
    }
}

/// A zip archive with stored (uncompressed) entries.
func zipStored(_ entries: [(String, [UInt8])]) -> [UInt8] {
    var out: [UInt8] = [], central: [UInt8] = []
    func le16(_ v: Int, _ b: inout [UInt8]) { withUnsafeBytes(of: UInt16(v).littleEndian) { b += $0 } }
    func le32(_ v: Int, _ b: inout [UInt8]) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { b += $0 } }
    for (name, data) in entries {
        let offset = out.count, crc = Int(crc32(data)), n = Array(name.utf8)
        le32(0x0403_4b50, &out); le16(20, &out); le16(0, &out); le16(0, &out); le32(0, &out)
        le32(crc, &out); le32(data.count, &out); le32(data.count, &out); le16(n.count, &out); le16(0, &out)
        out += n; out += data
        le32(0x0201_4b50, &central); le16(20, &central); le16(20, &central); le16(0, &central); le16(0, &central)
        le32(0, &central); le32(crc, &central); le32(data.count, &central); le32(data.count, &central)
        le16(n.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
        le32(0, &central); le32(offset, &central); central += n
    }
    let cdOffset = out.count
    out += central
    le32(0x0605_4b50, &out); le16(0, &out); le16(0, &out); le16(entries.count, &out); le16(entries.count, &out)
    le32(central.count, &out); le32(cdOffset, &out); le16(0, &out)
    return out
}

func crc32(_ data: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in data {
        c ^= UInt32(b)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
    }
    return ~c
}
