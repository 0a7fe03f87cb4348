import FileOutput
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
        catch { throw ModelError.ioError(path: path, reason: "cannot read: \(ErrorText.reason(error))") }
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
            try Self.checkView(t, storageBytes: s.1, name: name, bad: bad)
            refs[name] = t
        }
        self.refs = refs
        self.storages = storages
    }

    /// Checks a tensor view read from the pickle against its storage: sizes, strides and offset not negative, the
    /// furthest element it touches inside the storage, and no more elements than the storage holds (so a
    /// zero-stride view cannot ask for an arbitrarily large tensor), all without overflow.
    private static func checkView(_ t: TensorRef, storageBytes: Int, name: String, bad: (String) -> ModelError) throws {
        guard t.offset >= 0, t.shape.allSatisfy({ $0 >= 0 }), t.stride.allSatisfy({ $0 >= 0 }) else {
            throw bad("tensor '\(name)' has a negative size, stride or offset")
        }
        let storageCount = storageBytes / t.dtype.size
        var numel = 1, last = t.offset
        for (size, stride) in zip(t.shape, t.stride) {
            let (n, o1) = numel.multipliedReportingOverflow(by: size)
            if o1 || n > storageCount { numel = -1; break }
            numel = n
            guard size > 0 else { continue }
            let (reach, o2) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, o3) = last.addingReportingOverflow(reach)
            if o2 || o3 { last = Int.max; continue }
            last = sum
        }
        if numel < 0 {
            throw bad("tensor '\(name)' of shape \(t.shape) has more elements than its storage holds (\(storageCount))")
        }
        if numel > 0 && last >= storageCount {
            throw bad("tensor '\(name)' reaches beyond its storage (truncated?)")
        }
    }

    public func floats(_ name: String) throws -> Tensor {
        guard let r = refs[name], let s = storages[r.storageKey] else { throw ModelError.missingTensor(path: path, name: name) }
        let t = Tensor(shape: r.shape)
        bytes.withUnsafeBytes { raw in
            var i = 0
            forEachElement(of: r, in: raw.baseAddress! + s.start) { p in
                switch r.dtype {
                case .F32: t.data[i] = p.loadUnaligned(as: Float.self)
                case .F16: t.data[i] = halfToFloat(p.loadUnaligned(as: UInt16.self))
                case .BF16: t.data[i] = Float(bitPattern: UInt32(p.loadUnaligned(as: UInt16.self)) << 16)
                case .F64: t.data[i] = Float(p.loadUnaligned(as: Double.self))
                case .I64: t.data[i] = Float(p.loadUnaligned(as: Int64.self))
                case .I32: t.data[i] = Float(p.loadUnaligned(as: Int32.self))
                case .I16: t.data[i] = Float(p.loadUnaligned(as: Int16.self))
                case .I8: t.data[i] = Float(p.load(as: Int8.self))
                case .U8, .BOOL: t.data[i] = Float(p.load(as: UInt8.self))
                }
                i += 1
            }
        }
        return t
    }

    /// An integer tensor (I64/I32/I16/I8/U8/BOOL) as Int64 values, exactly; throws `corruptFile` for another dtype.
    public func integers(_ name: String) throws -> [Int64] {
        guard let r = refs[name], let s = storages[r.storageKey] else { throw ModelError.missingTensor(path: path, name: name) }
        var out: [Int64] = []
        out.reserveCapacity(r.shape.reduce(1, *))
        try bytes.withUnsafeBytes { raw in
            switch r.dtype {
            case .I64, .I32, .I16, .I8, .U8, .BOOL: break
            default: throw ModelError.corruptFile(path: path, reason: "tensor '\(name)' is \(r.dtype.rawValue), expected an integer dtype")
            }
            forEachElement(of: r, in: raw.baseAddress! + s.start) { p in
                switch r.dtype {
                case .I64: out.append(p.loadUnaligned(as: Int64.self))
                case .I32: out.append(Int64(p.loadUnaligned(as: Int32.self)))
                case .I16: out.append(Int64(p.loadUnaligned(as: Int16.self)))
                case .I8: out.append(Int64(p.load(as: Int8.self)))
                default: out.append(Int64(p.load(as: UInt8.self)))
                }
            }
        }
        return out
    }

    /// Calls `body` with the address of each element of the view `r` over the storage at `base`, in row-major
    /// order through its strides (checked against the storage by `checkView`). Steps wrap: a stride of a size-1
    /// dimension may be anything, and is added and taken off again.
    private func forEachElement(of r: TensorRef, in base: UnsafeRawPointer, _ body: (UnsafeRawPointer) -> Void) {
        let n = r.shape.reduce(1, *), size = r.dtype.size
        var index = [Int](repeating: 0, count: r.shape.count)
        var pos = r.offset
        for _ in 0..<n {
            body(base + pos * size)
            var k = r.shape.count - 1
            while k >= 0 {
                index[k] += 1; pos &+= r.stride[k]
                if index[k] < r.shape[k] { break }
                pos &-= r.stride[k] &* r.shape[k]; index[k] = 0; k -= 1
            }
        }
    }
}

/// Central directory of a zip archive: entry name → byte range of its (stored) data. ZIP64 aware.
enum ZipDirectory {
    static func read(_ d: Data, bad: (String) -> ModelError) throws -> [String: (start: Int, count: Int)] {
        let size = d.count
        return try d.withUnsafeBytes { raw -> [String: (start: Int, count: Int)] in
            /// Whether `count` bytes from `start` lie inside the file (no overflow: both are checked first).
            func inside(_ start: Int, _ count: Int) -> Bool { start >= 0 && count >= 0 && start <= size && count <= size - start }
            func field(_ o: Int, _ n: Int, _ what: String) throws -> UnsafeRawPointer {
                guard inside(o, n) else { throw bad("\(what) beyond the end of the file (truncated?)") }
                return raw.baseAddress! + o
            }
            func u16(_ o: Int, _ what: String) throws -> Int { Int(UInt16(littleEndian: try field(o, 2, what).loadUnaligned(as: UInt16.self))) }
            func u32(_ o: Int, _ what: String) throws -> Int { Int(UInt32(littleEndian: try field(o, 4, what).loadUnaligned(as: UInt32.self))) }
            func u64(_ o: Int, _ what: String) throws -> Int {
                let v = UInt64(littleEndian: try field(o, 8, what).loadUnaligned(as: UInt64.self))
                guard v <= UInt64(size) else { throw bad("\(what): value \(v) exceeds the file size \(size)") }
                return Int(v)
            }
            guard size >= 22 else { throw bad("too short for a zip archive") }
            var eocd = -1
            var o = size - 22
            while o >= max(0, size - 22 - 65535) {
                if try u32(o, "end-of-directory record") == 0x0605_4b50 { eocd = o; break }
                o -= 1
            }
            guard eocd >= 0 else { throw bad("no zip end-of-directory record (truncated or not a torch checkpoint)") }
            let end = "zip end-of-directory record"
            var count = try u16(eocd + 10, end), cdSize = try u32(eocd + 12, end), cdOffset = try u32(eocd + 16, end)
            if count == 0xFFFF || cdOffset == 0xFFFF_FFFF, eocd >= 20, try u32(eocd - 20, end) == 0x0706_4b50 {
                let e64 = try u64(eocd - 20 + 8, "ZIP64 end-of-directory locator")
                guard inside(e64, 56), try u32(e64, end) == 0x0606_4b50 else { throw bad("bad ZIP64 end-of-directory record") }
                let end64 = "ZIP64 end-of-directory record"
                count = try u64(e64 + 32, end64); cdSize = try u64(e64 + 40, end64); cdOffset = try u64(e64 + 48, end64)
            }
            guard inside(cdOffset, cdSize) else { throw bad("zip directory beyond the end of the file (truncated?)") }
            var out: [String: (start: Int, count: Int)] = [:]
            var p = cdOffset
            for _ in 0..<count {
                guard inside(p, 46), try u32(p, "zip directory entry") == 0x0201_4b50 else { throw bad("bad zip directory entry") }
                let entry = "zip directory entry"
                let method = try u16(p + 10, entry)
                var csize = try u32(p + 20, entry), usize = try u32(p + 24, entry)
                let nameLen = try u16(p + 28, entry), extraLen = try u16(p + 30, entry), commentLen = try u16(p + 32, entry)
                var local = try u32(p + 42, entry)
                guard inside(p + 46, nameLen + extraLen) else { throw bad("bad zip directory entry") }
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[(p + 46)..<(p + 46 + nameLen)]), as: UTF8.self)
                // ZIP64 extra field: the 64-bit values of the fields saturated above, in order.
                let extraEnd = p + 46 + nameLen + extraLen
                var e = p + 46 + nameLen
                while e + 4 <= extraEnd {
                    let id = try u16(e, entry), len = try u16(e + 2, entry)
                    if id == 0x0001 {
                        var q = e + 4
                        func next() throws -> Int {
                            guard q + 8 <= min(e + 4 + len, extraEnd) else { throw bad("zip entry '\(name)': short ZIP64 extra field") }
                            defer { q += 8 }
                            return try u64(q, "ZIP64 extra field of '\(name)'")
                        }
                        if usize == 0xFFFF_FFFF { usize = try next() }
                        if csize == 0xFFFF_FFFF { csize = try next() }
                        if local == 0xFFFF_FFFF { local = try next() }
                    }
                    e += 4 + len
                }
                guard method == 0, csize == usize else { throw bad("zip entry '\(name)' is compressed; torch checkpoints store entries") }
                guard inside(local, 30), try u32(local, "zip local header") == 0x0403_4b50 else { throw bad("bad zip local header for '\(name)'") }
                let start = local + 30 + (try u16(local + 26, "zip local header")) + (try u16(local + 28, "zip local header"))
                guard inside(start, csize) else { throw bad("zip entry '\(name)' extends beyond the end of the file (truncated?)") }
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
        func need(_ n: Int) throws { if n < 0 || n > b.count - i { throw bad("data.pkl is truncated") } }
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
