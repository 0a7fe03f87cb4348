import Foundation

/// Minimal safetensors reader for the tests: 8-byte little-endian header length, a JSON header of
/// `name: {dtype, shape, data_offsets}`, then the raw little-endian data. F32 and I64 only.
struct SafetensorsTestReader {
    struct Entry { let dtype: String; let shape: [Int]; let begin: Int; let end: Int }

    let entries: [String: Entry]
    let metadata: [String: String]
    private let data: Data      // the whole file
    private let dataStart: Int  // 8 + header length

    enum ReadError: Error, CustomStringConvertible {
        case malformed(String), missing(String), dtype(String, String)
        var description: String {
            switch self {
            case .malformed(let m): return "malformed safetensors: \(m)"
            case .missing(let n): return "no tensor named \(n)"
            case .dtype(let n, let t): return "tensor \(n) has dtype \(t)"
            }
        }
    }

    init(url: URL) throws {
        data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw ReadError.malformed("shorter than 8 bytes") }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(data.count - 8) else { throw ReadError.malformed("header length \(headerLength)") }
        dataStart = 8 + Int(headerLength)
        let json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<dataStart))
        guard let header = json as? [String: Any] else { throw ReadError.malformed("header is not an object") }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let e = value as? [String: Any], let dtype = e["dtype"] as? String,
                  let shape = e["shape"] as? [Int], let offs = e["data_offsets"] as? [Int], offs.count == 2,
                  offs[0] <= offs[1], dataStart + offs[1] <= data.count
            else { throw ReadError.malformed("entry \(name)") }
            entries[name] = Entry(dtype: dtype, shape: shape, begin: offs[0], end: offs[1])
        }
        self.entries = entries
        self.metadata = metadata
    }

    func shape(_ name: String) throws -> [Int] {
        guard let e = entries[name] else { throw ReadError.missing(name) }
        return e.shape
    }

    func float32(_ name: String) throws -> [Float] {
        guard let e = entries[name] else { throw ReadError.missing(name) }
        guard e.dtype == "F32" else { throw ReadError.dtype(name, e.dtype) }
        let count = (e.end - e.begin) / 4
        guard count == e.shape.reduce(1, *) else { throw ReadError.malformed("size of \(name)") }
        var out = [Float](repeating: 0, count: count)
        let start = data.startIndex + dataStart + e.begin
        for i in 0..<count {
            var bits: UInt32 = 0
            for b in 0..<4 { bits |= UInt32(data[start + 4 * i + b]) << (8 * UInt32(b)) }
            out[i] = Float(bitPattern: bits)
        }
        return out
    }

    func int64(_ name: String) throws -> [Int64] {
        guard let e = entries[name] else { throw ReadError.missing(name) }
        guard e.dtype == "I64" else { throw ReadError.dtype(name, e.dtype) }
        let count = (e.end - e.begin) / 8
        guard count == e.shape.reduce(1, *) else { throw ReadError.malformed("size of \(name)") }
        var out = [Int64](repeating: 0, count: count)
        let start = data.startIndex + dataStart + e.begin
        for i in 0..<count {
            var bits: UInt64 = 0
            for b in 0..<8 { bits |= UInt64(data[start + 8 * i + b]) << (8 * UInt64(b)) }
            out[i] = Int64(bitPattern: bits)
        }
        return out
    }
}

/// Root of the reference fixtures: $MAMBA_DNA_REFERENCE_FIXTURES, else <repo>/Fixtures/reference.
func referenceFixturesRoot() -> URL {
    if let env = ProcessInfo.processInfo.environment["MAMBA_DNA_REFERENCE_FIXTURES"], !env.isEmpty {
        return URL(fileURLWithPath: env)
    }
    // This file is <repo>/Tests/MambaKernelsTests/SafetensorsTestReader.swift.
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/reference")
}
