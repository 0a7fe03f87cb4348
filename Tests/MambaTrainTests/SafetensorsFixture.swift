import Foundation

/// Minimal safetensors reader for the gradient fixtures (test-only): 8-byte little-endian header length,
/// a JSON header {name: {dtype, shape, data_offsets}}, then the raw little-endian data. F32 and I64 only.
struct SafetensorsFixture {
    struct Entry { let dtype: String; let shape: [Int]; let begin: Int; let end: Int }
    let entries: [String: Entry]
    private let data: Data
    private let dataStart: Int

    enum Failure: Error { case truncated(String), badHeader(String), missing(String), dtype(String) }

    init(contentsOf url: URL) throws {
        let bytes = try Data(contentsOf: url)
        guard bytes.count >= 8 else { throw Failure.truncated(url.path) }
        var headerLength = 0
        for i in 0..<8 { headerLength |= Int(bytes[bytes.startIndex + i]) << (8 * i) }
        guard 8 + headerLength <= bytes.count,
              let json = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as? [String: Any]
        else { throw Failure.badHeader(url.path) }
        var entries: [String: Entry] = [:]
        for (name, value) in json where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else { throw Failure.badHeader(name) }
            entries[name] = Entry(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        }
        self.entries = entries
        data = bytes
        dataStart = 8 + headerLength
    }

    func shape(_ name: String) throws -> [Int] {
        guard let e = entries[name] else { throw Failure.missing(name) }
        return e.shape
    }

    func floats(_ name: String) throws -> [Float] {
        guard let e = entries[name] else { throw Failure.missing(name) }
        guard e.dtype == "F32" else { throw Failure.dtype("\(name): \(e.dtype)") }
        let count = (e.end - e.begin) / 4
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBytes { dst in
            _ = data.copyBytes(to: dst, from: (dataStart + e.begin)..<(dataStart + e.end))
        }
        return out.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
    }

    func ints(_ name: String) throws -> [Int] {
        guard let e = entries[name] else { throw Failure.missing(name) }
        guard e.dtype == "I64" else { throw Failure.dtype("\(name): \(e.dtype)") }
        let count = (e.end - e.begin) / 8
        var out = [Int64](repeating: 0, count: count)
        out.withUnsafeMutableBytes { dst in
            _ = data.copyBytes(to: dst, from: (dataStart + e.begin)..<(dataStart + e.end))
        }
        return out.map { Int(Int64(littleEndian: $0)) }
    }
}

/// Fixture root: $MAMBA_DNA_REFERENCE_GRAD_FIXTURES, else <repo>/Fixtures/reference-grad.
enum GradFixtures {
    static var root: URL {
        if let env = ProcessInfo.processInfo.environment["MAMBA_DNA_REFERENCE_GRAD_FIXTURES"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return URL(fileURLWithPath: #filePath)   // <repo>/Tests/MambaTrainTests/SafetensorsFixture.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/reference-grad")
    }

    /// ‖g − ref‖ / ‖ref‖ in Float64.
    static func relativeError(_ g: [Float], _ ref: [Float]) -> Double {
        precondition(g.count == ref.count)
        var num = 0.0, den = 0.0
        for i in 0..<g.count {
            let e = Double(g[i]) - Double(ref[i])
            num += e * e; den += Double(ref[i]) * Double(ref[i])
        }
        return den > 0 ? (num / den).squareRoot() : num.squareRoot()
    }

    /// max |g − ref| / max |ref|.
    static func maxRelativeError(_ g: [Float], _ ref: [Float]) -> Double {
        var m = 0.0, s = 0.0
        for i in 0..<g.count { m = max(m, abs(Double(g[i]) - Double(ref[i]))); s = max(s, abs(Double(ref[i]))) }
        return s > 0 ? m / s : m
    }
}
