import Foundation

/// A `torch.save` state dict (`pytorch_model.bin`, the zip format of torch ≥ 1.6): a zip archive (entries stored,
/// not compressed) holding `<name>/data.pkl`, a pickle whose tensors are `torch._utils._rebuild_tensor_v2` calls on
/// storages named by persistent ids `('storage', torch.FloatStorage, key, location, numel)`, and `<name>/data/<key>`
/// with each storage's raw little-endian bytes. Only the pickle opcodes a state dict uses are understood.
public struct TorchCheckpointFile: TensorFile {
    struct TensorRef {
        var dtype: SafetensorsDType
        var storageKey: String
        var offset: Int      // in elements
        var shape: [Int]
        var stride: [Int]
    }

    public let path: String
    private let bytes: Data
    private let refs: [String: TensorRef]
    private let storages: [String: (start: Int, count: Int)]  // key → byte range in the file

    public var shapes: [String: [Int]] { refs.mapValues(\.shape) }

    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError.fileNotFound(path: path) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) }
        catch { throw ModelError.ioError(path: path, reason: "cannot read: \(error.localizedDescription)") }
        try self.init(path: path, data: data)
    }

    /// Parses the bytes of a checkpoint read already; `path` names it in errors.
    public init(path: String, data: Data) throws {
        self.path = path
        bytes = data
        func bad(_ why: String) -> ModelError { .corruptFile(path: path, reason: why) }
        let entries = try ZipDirectory.read(bytes, bad: bad)
        guard let pkl = entries.keys.first(where: { $0.hasSuffix("/data.pkl") }), let pklRange = entries[pkl] else {
            throw bad("not a torch zip checkpoint (no data.pkl)")
        }
        let prefix = String(pkl.dropLast("data.pkl".count))
        var storages: [String: (Int, Int)] = [:]
        for (name, range) in entries where name.hasPrefix(prefix + "data/") {
            storages[String(name.dropFirst(prefix.count + 5))] = range
        }
        let root = try Unpickler(bytes.subdata(in: pklRange.start..<(pklRange.start + pklRange.count)), bad: bad).load()
        guard case .dict(let d) = root else { throw bad("data.pkl does not hold a state dict") }
        var refs: [String: TensorRef] = [:]
        for (k, v) in d.items {
            guard case .string(let name) = k else { continue }
            guard case .tensor(let t) = v else { continue }  // non-tensor entries (e.g. metadata) are skipped
            guard let s = storages[t.storageKey] else { throw bad("tensor '\(name)' refers to missing storage \(t.storageKey)") }
            // The furthest element the view touches must lie inside its storage.
            let numel = t.shape.reduce(1, *)
            if numel > 0 {
                let last = t.offset + zip(t.shape, t.stride).map { ($0 - 1) * $1 }.reduce(0, +)
                if t.offset < 0 || (last + 1) * t.dtype.size > s.1 {
                    throw bad("tensor '\(name)' reaches beyond its storage (truncated?)")
                }
            }
            refs[name] = t
        }
        self.refs = refs
        self.storages = storages
    }

    public func floats(_ name: String) throws -> Tensor {
        guard let r = refs[name], let s = storages[r.storageKey] else { throw ModelError.missingTensor(path: path, name: name) }
        let t = Tensor(shape: r.shape)
        let n = t.count
        let size = r.dtype.size
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + s.start
            func load(_ i: Int) -> Float {  // element i of the storage
                let p = base + i * size
                switch r.dtype {
                case .F32: return p.loadUnaligned(as: Float.self)
                case .F16: return halfToFloat(p.loadUnaligned(as: UInt16.self))
                case .BF16: return Float(bitPattern: UInt32(p.loadUnaligned(as: UInt16.self)) << 16)
                case .F64: return Float(p.loadUnaligned(as: Double.self))
                case .I64: return Float(p.loadUnaligned(as: Int64.self))
                case .I32: return Float(p.loadUnaligned(as: Int32.self))
                case .I16: return Float(p.loadUnaligned(as: Int16.self))
                case .I8: return Float(p.load(as: Int8.self))
                case .U8, .BOOL: return Float(p.load(as: UInt8.self))
                }
            }
            // Walk the view in row-major order through its strides.
            var index = [Int](repeating: 0, count: r.shape.count)
            var pos = r.offset
            for i in 0..<n {
                t.data[i] = load(pos)
                var k = r.shape.count - 1
                while k >= 0 {
                    index[k] += 1; pos += r.stride[k]
                    if index[k] < r.shape[k] { break }
                    pos -= r.stride[k] * r.shape[k]; index[k] = 0; k -= 1
                }
            }
        }
        return t
    }

    public func integers(_ name: String) throws -> [Int64] {
        try floats(name).array.map { Int64($0) }
    }
}

/// Central directory of a zip archive: entry name → byte range of its (stored) data. ZIP64 aware.
enum ZipDirectory {
    static func read(_ d: Data, bad: (String) -> ModelError) throws -> [String: (start: Int, count: Int)] {
        let size = d.count
        return try d.withUnsafeBytes { raw -> [String: (start: Int, count: Int)] in
            func u16(_ o: Int) -> Int { Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self))) }
            func u32(_ o: Int) -> Int { Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))) }
            func u64(_ o: Int) -> Int { Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))) }
            guard size >= 22 else { throw bad("too short for a zip archive") }
            var eocd = -1
            var o = size - 22
            while o >= max(0, size - 22 - 65535) {
                if u32(o) == 0x0605_4b50 { eocd = o; break }
                o -= 1
            }
            guard eocd >= 0 else { throw bad("no zip end-of-directory record (truncated or not a torch checkpoint)") }
            var count = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16)
            if (count == 0xFFFF || cdOffset == 0xFFFF_FFFF), eocd >= 20, u32(eocd - 20) == 0x0706_4b50 {
                let e64 = u64(eocd - 20 + 8)
                guard e64 + 56 <= size, u32(e64) == 0x0606_4b50 else { throw bad("bad ZIP64 end-of-directory record") }
                count = u64(e64 + 32); cdSize = u64(e64 + 40); cdOffset = u64(e64 + 48)
            }
            guard cdOffset + cdSize <= size else { throw bad("zip directory beyond the end of the file (truncated?)") }
            var out: [String: (start: Int, count: Int)] = [:]
            var p = cdOffset
            for _ in 0..<count {
                guard p + 46 <= size, u32(p) == 0x0201_4b50 else { throw bad("bad zip directory entry") }
                let method = u16(p + 10)
                var csize = u32(p + 20), usize = u32(p + 24)
                let nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32)
                var local = u32(p + 42)
                guard p + 46 + nameLen + extraLen <= size else { throw bad("bad zip directory entry") }
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[(p + 46)..<(p + 46 + nameLen)]), as: UTF8.self)
                // ZIP64 extra field: the 64-bit values of the fields saturated above, in order.
                var e = p + 46 + nameLen
                while e + 4 <= p + 46 + nameLen + extraLen {
                    let id = u16(e), len = u16(e + 2)
                    if id == 0x0001 {
                        var q = e + 4
                        if usize == 0xFFFF_FFFF { usize = u64(q); q += 8 }
                        if csize == 0xFFFF_FFFF { csize = u64(q); q += 8 }
                        if local == 0xFFFF_FFFF { local = u64(q); q += 8 }
                    }
                    e += 4 + len
                }
                guard method == 0, csize == usize else { throw bad("zip entry '\(name)' is compressed; torch checkpoints store entries") }
                guard local + 30 <= size, u32(local) == 0x0403_4b50 else { throw bad("bad zip local header for '\(name)'") }
                let start = local + 30 + u16(local + 26) + u16(local + 28)
                guard start + csize <= size else { throw bad("zip entry '\(name)' extends beyond the end of the file (truncated?)") }
                out[name] = (start, csize)
                p += 46 + nameLen + extraLen + commentLen
            }
            return out
        }
    }
}

/// The subset of the pickle machine (protocols 2–4) that `torch.save(state_dict)` emits.
struct Unpickler {
    final class Dict { var items: [(PValue, PValue)] = [] }
    final class List { var items: [PValue] = [] }
    indirect enum PValue {
        case none, bool(Bool), int(Int), float(Double), string(String), bytes
        case tuple([PValue]), list(List), dict(Dict), global(String, String)
        case storage(key: String, dtype: SafetensorsDType)
        case tensor(TorchCheckpointFile.TensorRef)
        case mark
    }

    let data: Data
    let bad: (String) -> ModelError

    init(_ data: Data, bad: @escaping (String) -> ModelError) { self.data = data; self.bad = bad }

    func load() throws -> PValue {
        let b = [UInt8](data)
        var i = 0
        var stack: [PValue] = []
        var memo: [Int: PValue] = [:]
        func need(_ n: Int) throws { if i + n > b.count { throw bad("data.pkl is truncated") } }
        func le(_ n: Int) throws -> Int {
            try need(n)
            var v = 0
            for k in 0..<n { v |= Int(b[i + k]) << (8 * k) }
            i += n
            return v
        }
        func text(_ n: Int) throws -> String {
            try need(n)
            defer { i += n }
            return String(decoding: b[i..<(i + n)], as: UTF8.self)
        }
        func line() throws -> String {
            guard let nl = b[i...].firstIndex(of: 0x0A) else { throw bad("data.pkl is truncated") }
            defer { i = nl + 1 }
            return String(decoding: b[i..<nl], as: UTF8.self)
        }
        func pop() throws -> PValue { guard let v = stack.popLast() else { throw bad("data.pkl: stack underflow") }; return v }
        func popMark() throws -> [PValue] {
            guard let m = stack.lastIndex(where: { if case .mark = $0 { return true }; return false }) else {
                throw bad("data.pkl: missing mark")
            }
            let items = Array(stack[(m + 1)...])
            stack.removeSubrange(m...)
            return items
        }
        func ints(_ v: PValue) throws -> [Int] {
            guard case .tuple(let t) = v else { throw bad("data.pkl: expected a tuple of ints") }
            return try t.map { if case .int(let x) = $0 { return x }; throw bad("data.pkl: expected an int") }
        }

        while true {
            try need(1)
            let op = b[i]; i += 1
            switch op {
            case 0x80: i += 1                                   // PROTO
            case 0x95: i += 8                                   // FRAME
            case 0x2E: return try pop()                         // STOP
            case 0x7D: stack.append(.dict(Dict()))              // EMPTY_DICT
            case 0x5D: stack.append(.list(List()))              // EMPTY_LIST
            case 0x29: stack.append(.tuple([]))                 // EMPTY_TUPLE
            case 0x28: stack.append(.mark)                      // MARK
            case 0x4E: stack.append(.none)                      // NONE
            case 0x88: stack.append(.bool(true))                // NEWTRUE
            case 0x89: stack.append(.bool(false))               // NEWFALSE
            case 0x4B: stack.append(.int(try le(1)))            // BININT1
            case 0x4D: stack.append(.int(try le(2)))            // BININT2
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try le(4)))))  // BININT
            case 0x8A:                                          // LONG1
                let n = try le(1)
                guard n <= 8 else { throw bad("data.pkl: integer too large") }
                var v = n == 0 ? 0 : try le(n)
                if n > 0 && n < 8 && v & (1 << (8 * n - 1)) != 0 { v -= 1 << (8 * n) }
                stack.append(.int(v))
            case 0x47:                                          // BINFLOAT (big-endian)
                try need(8)
                var u: UInt64 = 0
                for k in 0..<8 { u = u << 8 | UInt64(b[i + k]) }
                i += 8
                stack.append(.float(Double(bitPattern: u)))
            case 0x58: stack.append(.string(try text(try le(4))))   // BINUNICODE
            case 0x8C: stack.append(.string(try text(try le(1))))   // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try text(try le(8))))   // BINUNICODE8
            case 0x55, 0x54:                                        // SHORT_BINSTRING, BINSTRING
                stack.append(.string(try text(try le(op == 0x55 ? 1 : 4))))
            case 0x43, 0x42:                                        // SHORT_BINBYTES, BINBYTES
                let n = try le(op == 0x43 ? 1 : 4); try need(n); i += n; stack.append(.bytes)
            case 0x71: memo[try le(1)] = stack.last              // BINPUT
            case 0x72: memo[try le(4)] = stack.last              // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last             // MEMOIZE
            case 0x68, 0x6A:                                      // BINGET, LONG_BINGET
                let k = try le(op == 0x68 ? 1 : 4)
                guard let v = memo[k] else { throw bad("data.pkl: unknown memo \(k)") }
                stack.append(v)
            case 0x63:                                            // GLOBAL "module\nname\n"
                stack.append(.global(try line(), try line()))
            case 0x93:                                            // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case .string(let mod) = m, case .string(let name) = n else { throw bad("data.pkl: bad STACK_GLOBAL") }
                stack.append(.global(mod, name))
            case 0x74: stack.append(.tuple(try popMark()))        // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))          // TUPLE1
            case 0x86: let y = try pop(), x = try pop(); stack.append(.tuple([x, y]))              // TUPLE2
            case 0x87: let z = try pop(), y = try pop(), x = try pop(); stack.append(.tuple([x, y, z]))  // TUPLE3
            case 0x6C: let l = List(); l.items = try popMark(); stack.append(.list(l))            // LIST
            case 0x61: let v = try pop(); if case .list(let l) = stack.last { l.items.append(v) }  // APPEND
            case 0x65: let vs = try popMark(); if case .list(let l) = stack.last { l.items += vs }  // APPENDS
            case 0x73:                                            // SETITEM
                let v = try pop(), k = try pop()
                if case .dict(let d) = stack.last { d.items.append((k, v)) }
            case 0x75:                                            // SETITEMS
                let kv = try popMark()
                guard kv.count % 2 == 0 else { throw bad("data.pkl: odd SETITEMS") }
                if case .dict(let d) = stack.last { for j in stride(from: 0, to: kv.count, by: 2) { d.items.append((kv[j], kv[j + 1])) } }
            case 0x62: _ = try pop()                              // BUILD: object state is not needed
            case 0x51:                                            // BINPERSID
                let pid = try pop()
                guard case .tuple(let t) = pid, t.count >= 5, case .string("storage") = t[0],
                      case .global(_, let type) = t[1], case .string(let key) = t[2] else {
                    throw bad("data.pkl: unknown persistent id")
                }
                let dtypes: [String: SafetensorsDType] = [
                    "FloatStorage": .F32, "HalfStorage": .F16, "BFloat16Storage": .BF16, "DoubleStorage": .F64,
                    "LongStorage": .I64, "IntStorage": .I32, "ShortStorage": .I16, "CharStorage": .I8,
                    "ByteStorage": .U8, "BoolStorage": .BOOL]
                guard let dt = dtypes[type] else { throw bad("data.pkl: unsupported storage type \(type)") }
                stack.append(.storage(key: key, dtype: dt))
            case 0x52, 0x81:                                      // REDUCE, NEWOBJ
                let args = try pop(), f = try pop()
                guard case .global(let mod, let name) = f, case .tuple(let a) = args else { throw bad("data.pkl: bad REDUCE") }
                switch (mod, name) {
                case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
                    guard a.count >= 4, case .storage(let key, let dt) = a[0], case .int(let off) = a[1] else {
                        throw bad("data.pkl: bad tensor record")
                    }
                    let shape = try ints(a[2]), stride = try ints(a[3])
                    guard shape.count == stride.count else { throw bad("data.pkl: tensor shape/stride mismatch") }
                    stack.append(.tensor(.init(dtype: dt, storageKey: key, offset: off, shape: shape, stride: stride)))
                case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
                    stack.append(a.first ?? .none)
                case ("collections", "OrderedDict"), ("builtins", "dict"), ("__builtin__", "dict"):
                    stack.append(.dict(Dict()))
                default:
                    stack.append(.none)  // objects a state dict does not need (e.g. metadata)
                }
            default:
                throw bad(String(format: "data.pkl: unsupported pickle opcode 0x%02x", op))
            }
        }
    }
}
