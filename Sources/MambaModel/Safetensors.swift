import FileOutput
import Foundation

/// The safetensors format: u64 little-endian header length N, N bytes of JSON
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}`, then the data section.
/// Offsets are relative to the data section; tensors are little-endian, row-major, packed back to back.
public enum SafetensorsDType: String, Sendable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL

    public var size: Int {
        switch self {
        case .F64, .I64: return 8
        case .F32, .I32: return 4
        case .F16, .BF16, .I16: return 2
        case .I8, .U8, .BOOL: return 1
        }
    }
}

/// One parsed safetensors file. The file is mapped (or read) once; tensors are converted to fp32 on request.
public struct SafetensorsFile {
    public struct Entry: Sendable {
        public let name: String
        public let dtype: SafetensorsDType
        public let shape: [Int]
        public let begin: Int  // byte offset in the data section
        public let end: Int
    }

    public let path: String
    public let metadata: [String: String]
    public let entries: [String: Entry]
    private let bytes: Data
    private let dataStart: Int

    /// Names in storage order.
    public var names: [String] { entries.values.sorted { $0.begin < $1.begin }.map(\.name) }

    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError.fileNotFound(path: path) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) }
        catch { throw ModelError.ioError(path: path, reason: "cannot read: \(ErrorText.reason(error))") }
        try self.init(path: path, data: data)
    }

    public init(path: String, data: Data) throws {
        self.path = path
        self.bytes = data
        func corrupt(_ why: String) -> ModelError { .corruptFile(path: path, reason: why) }
        let size = data.count
        guard size >= 8 else { throw corrupt("file is \(size) bytes, shorter than the 8-byte header length") }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) }
        guard n <= UInt64(size - 8) else {
            throw corrupt("header length \(n) exceeds the file size \(size) (truncated?)")
        }
        let headerLength = Int(n)
        dataStart = 8 + headerLength
        let dataSize = size - dataStart
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<dataStart)) }
        catch { throw corrupt("header is not valid JSON") }
        guard let header = json as? [String: Any] else { throw corrupt("header is not a JSON object") }

        var meta: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw corrupt("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw corrupt("__metadata__ value '\(k)' is not a string") }
                    meta[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any],
                  let dtypeName = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any],
                  let offsetsAny = info["data_offsets"] as? [Any] else {
                throw corrupt("tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw corrupt("tensor '\(name)' has unknown dtype \(dtypeName)")
            }
            guard let shape = intArray(shapeAny), shape.allSatisfy({ $0 >= 0 }) else {
                throw corrupt("tensor '\(name)' has an invalid shape")
            }
            guard let offsets = intArray(offsetsAny), offsets.count == 2, offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw corrupt("tensor '\(name)' has invalid data_offsets")
            }
            let (numel, overflow) = shape.reduce((1, false)) { acc, d in
                let (m, o) = acc.0.multipliedReportingOverflow(by: d); return (m, acc.1 || o)
            }
            let (need, bytesOverflow) = numel.multipliedReportingOverflow(by: dtype.size)
            if overflow || bytesOverflow { throw corrupt("tensor '\(name)' shape \(shape) is too large") }
            if offsets[1] > dataSize {
                throw corrupt("tensor '\(name)' data_offsets [\(offsets[0]), \(offsets[1])] extend beyond the data section (\(dataSize) bytes; truncated?)")
            }
            if offsets[1] - offsets[0] != need {
                throw corrupt("tensor '\(name)' spans \(offsets[1] - offsets[0]) bytes but \(dtype.rawValue) \(shape) needs \(need)")
            }
            entries[name] = Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        }
        // The format requires the tensors to tile the data section exactly: no gaps, no overlaps.
        var expected = 0
        for e in entries.values.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            if e.begin != expected {
                throw corrupt("tensor '\(e.name)' starts at byte \(e.begin), expected \(expected) (overlapping or non-contiguous data_offsets)")
            }
            expected = e.end
        }
        if expected != dataSize {
            throw corrupt("data section is \(dataSize) bytes but the tensors cover \(expected)")
        }
        self.metadata = meta
        self.entries = entries
    }

    /// The tensor converted to fp32 (F32 copied; F16/BF16/F64 and integer types converted).
    public func floats(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw ModelError.missingTensor(path: path, name: name) }
        let t = Tensor(shape: e.shape)
        let count = t.count
        bytes.withUnsafeBytes { raw in
            let src = raw.baseAddress! + dataStart + e.begin
            switch e.dtype {
            case .F32:
                UnsafeMutableRawPointer(t.data).copyMemory(from: src, byteCount: count * 4)
            case .F16:
                for i in 0..<count { t.data[i] = halfToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            case .BF16:
                for i in 0..<count {
                    t.data[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
                }
            case .F64:
                for i in 0..<count { t.data[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
            case .I64:
                for i in 0..<count { t.data[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
            case .I32:
                for i in 0..<count { t.data[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
            case .I16:
                for i in 0..<count { t.data[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
            case .I8:
                for i in 0..<count { t.data[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
            case .U8, .BOOL:
                for i in 0..<count { t.data[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
            }
        }
        return t
    }

    /// The stored bytes of `e` (an entry of this file), as they lie in the data section.
    func rawBytes(_ e: Entry) -> [UInt8] {
        bytes.withUnsafeBytes { raw in Array(raw[(dataStart + e.begin)..<(dataStart + e.end)]) }
    }

    /// An integer tensor (I64/I32/I16/I8/U8) as Int64 values.
    public func integers(_ name: String) throws -> [Int64] {
        guard let e = entries[name] else { throw ModelError.missingTensor(path: path, name: name) }
        let count = e.shape.reduce(1, *)
        return try bytes.withUnsafeBytes { raw -> [Int64] in
            let src = raw.baseAddress! + dataStart + e.begin
            switch e.dtype {
            case .I64: return (0..<count).map { src.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self) }
            case .I32: return (0..<count).map { Int64(src.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
            case .I16: return (0..<count).map { Int64(src.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self)) }
            case .I8: return (0..<count).map { Int64(src.load(fromByteOffset: $0, as: Int8.self)) }
            case .U8, .BOOL: return (0..<count).map { Int64(src.load(fromByteOffset: $0, as: UInt8.self)) }
            default: throw ModelError.corruptFile(path: path, reason: "tensor '\(name)' is \(e.dtype.rawValue), expected an integer dtype")
            }
        }
    }
}

extension SafetensorsFile {
    /// The raw bytes of a U8 tensor, row-major; throws `missingTensor`, or `corruptFile` for another dtype.
    public func bytes(_ name: String) throws -> [UInt8] {
        guard let e = entries[name] else { throw ModelError.missingTensor(path: path, name: name) }
        guard e.dtype == .U8 else {
            throw ModelError.corruptFile(path: path, reason: "tensor '\(name)' is \(e.dtype.rawValue), expected U8")
        }
        return rawBytes(e)
    }
}

private func intArray(_ a: [Any]) -> [Int]? {
    var out: [Int] = []
    for v in a {
        if let n = v as? Int { out.append(n) }
        else if let d = v as? Double, d == d.rounded(), abs(d) < 9e15 { out.append(Int(d)) }
        else { return nil }
    }
    return out
}

/// IEEE half → single, including subnormals, infinities and NaN.
@inline(__always) func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = Int((h >> 10) & 0x1f)
    let mant = UInt32(h & 0x3ff)
    if exp == 0 {
        if mant == 0 { return Float(bitPattern: sign) }
        let v = Float(mant) * 0x1p-24  // subnormal: mant · 2^-24
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
}

/// A value to write: fp32, int64 or uint8 data with a shape.
public enum SafetensorsValue {
    case f32(Tensor)
    case floats(shape: [Int], values: [Float])
    case i64(shape: [Int], values: [Int64])
    /// Raw bytes (U8), e.g. an encoded stream that is not a numeric array.
    case u8(shape: [Int], values: [UInt8])

    var dtype: SafetensorsDType {
        switch self { case .f32, .floats: return .F32; case .i64: return .I64; case .u8: return .U8 }
    }
    var shape: [Int] {
        switch self { case .f32(let t): return t.shape; case .floats(let s, _), .i64(let s, _), .u8(let s, _): return s }
    }
}

public enum Safetensors {
    /// Writes `tensors` (stored in the given order) as a safetensors file, through `OutputFile` (a temporary
    /// sibling renamed into place, so a failure never leaves a partial file at `path`).
    public static func write(_ tensors: [(name: String, value: SafetensorsValue)], metadata: [String: String]? = nil,
                             to path: String) throws {
        var header = "{"
        var offset = 0
        var first = true
        if let metadata, !metadata.isEmpty {
            header += "\"__metadata__\":{" + metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
                .joined(separator: ",") + "}"
            first = false
        }
        for (name, value) in tensors {
            let bytes = value.shape.reduce(1, *) * value.dtype.size
            header += (first ? "" : ",") + "\(jsonString(name)):{\"dtype\":\"\(value.dtype.rawValue)\",\"shape\":\(value.shape),\"data_offsets\":[\(offset),\(offset + bytes)]}"
            first = false
            offset += bytes
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }  // pad so the data section is 8-aligned

        // Streamed to the file tensor by tensor: the tensors are not copied into one buffer first.
        let out = try OutputFile(path)
        do {
            try withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { try out.write(bytes: $0) }
            try headerBytes.withUnsafeBytes { try out.write(bytes: $0) }
            for (_, value) in tensors {
                switch value {
                case .f32(let t): try out.write(bytes: UnsafeRawBufferPointer(start: t.ptr, count: t.count * 4))
                case .floats(_, let v): try v.withUnsafeBytes { try out.write(bytes: $0) }
                case .i64(_, let v): try v.withUnsafeBytes { try out.write(bytes: $0) }
                case .u8(_, let v): try v.withUnsafeBytes { try out.write(bytes: $0) }
                }
            }
            try out.commit()
        } catch {
            out.abandon()
            throw error
        }
    }
}

/// Writes `data` to `path` through the output layer (`OutputFile`: a temporary sibling renamed over a regular
/// file; devices and FIFOs written directly).
/// - Throws: `OutputError` naming the path.
public func writeAtomically(_ data: Data, to path: String) throws {
    let out = try OutputFile(path)
    do {
        try out.write(data)
        try out.commit()
    } catch {
        out.abandon()
        throw error
    }
}

func jsonString(_ s: String) -> String {
    var r = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": r += "\\\""
        case "\\": r += "\\\\"
        case "\n": r += "\\n"
        case "\r": r += "\\r"
        case "\t": r += "\\t"
        default:
            if u.value < 0x20 { r += String(format: "\\u%04x", u.value) } else { r.unicodeScalars.append(u) }
        }
    }
    return r + "\""
}
