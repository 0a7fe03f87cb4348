import FileOutput
import Foundation
import MambaModel

/// Where `embed` writes: rows per base or one vector per sequence.
protocol EmbeddingSink: AnyObject {
    /// rows: (count, dim); positions firstPosition, firstPosition+1, … (1-based).
    /// `continuation`: more rows of the sequence of the previous call (long sequences arrive in chunks).
    func perBase(name: String, firstPosition: Int, rows: UnsafePointer<Float>, count: Int, continuation: Bool) throws
    func pooled(name: String, length: Int, vector: [Float]) throws
    /// Completes the output (renames the temporary file into place).
    func finish() throws
    /// Removes any partial output after a failure.
    func abandon()
}

/// TSV: `seq_id  position  e0 … e{D−1}` (one row per base) or `seq_id  length  e0 …` (one row per sequence).
/// Values are printed with the shortest text that reads back as the same fp32.
final class TSVEmbeddingSink: EmbeddingSink {
    let out: OutputFile
    let dim: Int

    init(path: String?, inputs: [String], dim: Int, pooled: Bool) throws {
        out = try OutputFile(path ?? "-", inputs: inputs)
        self.dim = dim
        try out.write("seq_id\t" + (pooled ? "length" : "position") + (0..<dim).map { "\te\($0)" }.joined() + "\n")
    }

    func perBase(name: String, firstPosition: Int, rows: UnsafePointer<Float>, count: Int, continuation: Bool) throws {
        for r in 0..<count {
            var line = name + "\t" + String(firstPosition + r)
            for c in 0..<dim { line += "\t" + rows[r * dim + c].description }
            try out.write(line + "\n")
        }
    }

    func pooled(name: String, length: Int, vector: [Float]) throws {
        try out.write(name + "\t" + String(length) + vector.map { "\t" + $0.description }.joined() + "\n")
    }

    func finish() throws { try out.commit() }
    func abandon() { out.abandon() }
}

/// safetensors: per base, one (L, D) tensor per sequence named by its id (repeats get `#2`, `#3`, …);
/// pooled, one (N, D) tensor `embeddings` plus `lengths` (N). `__metadata__` lists the ids in order.
/// Held in memory until `finish`, since the header (written first) needs every shape.
final class SafetensorsEmbeddingSink: EmbeddingSink {
    let path: String, dim: Int, pooling: EmbeddingExport.Pooling?, model: String
    var names: [String] = []
    var used: [String: Int] = [:]
    var tensors: [(name: String, value: SafetensorsValue)] = []
    var pooledRows: [Float] = [], lengths: [Int64] = []

    init(path: String, dim: Int, pooling: EmbeddingExport.Pooling?, model: String) {
        self.path = path; self.dim = dim; self.pooling = pooling; self.model = model
    }

    private func unique(_ name: String) -> String {
        let k = (used[name] ?? 0) + 1
        used[name] = k
        return k == 1 ? name : "\(name)#\(k)"
    }

    func perBase(name: String, firstPosition: Int, rows: UnsafePointer<Float>, count: Int, continuation: Bool) throws {
        if continuation, !tensors.isEmpty, case .floats(let shape, var values) = tensors[tensors.count - 1].value {
            tensors[tensors.count - 1].value = .floats(shape: [0], values: [])  // drop the second reference: append in place
            values += UnsafeBufferPointer(start: rows, count: count * dim)
            tensors[tensors.count - 1].value = .floats(shape: [shape[0] + count, dim], values: values)
            return
        }
        let key = unique(name)
        names.append(key)
        tensors.append((key, .floats(shape: [count, dim], values: Array(UnsafeBufferPointer(start: rows, count: count * dim)))))
    }

    func pooled(name: String, length: Int, vector: [Float]) throws {
        names.append(unique(name))
        pooledRows += vector
        lengths.append(Int64(length))
    }

    func finish() throws {
        let idsJSON = String(decoding: (try? JSONSerialization.data(withJSONObject: names)) ?? Data("[]".utf8), as: UTF8.self)
        var meta = ["format": "mamba-dna embeddings", "model": model, "seq_ids": idsJSON]
        if let pooling {
            meta["pooling"] = pooling.rawValue
            tensors = [("embeddings", .floats(shape: [lengths.count, dim], values: pooledRows)),
                       ("lengths", .i64(shape: [lengths.count], values: lengths))]
        } else {
            meta["pooling"] = "none"
        }
        try Safetensors.write(tensors, metadata: meta, to: path)
    }

    func abandon() {}
}

/// NumPy `.npy` (format 1.0, little-endian float32, C order): per base a (positions, D) array of every sequence's
/// rows in input order, pooled an (N, D) array; beside it `OUTPUT.rows.tsv` names each row (`seq_id  position`
/// or `seq_id  length`). Rows are streamed; the header, whose shape is known only at the end, is written first
/// with room to spare and rewritten by `finish`, so the output must be a regular file.
final class NPYEmbeddingSink: EmbeddingSink {
    let out: OutputFile, rowsOut: OutputFile
    let dim: Int
    var rows = 0
    /// Header bytes reserved: magic, version, length, and the dict padded with spaces to a multiple of 64.
    static let headerBytes = 128

    init(path: String, inputs: [String], dim: Int, pooled: Bool) throws {
        out = try OutputFile(path, inputs: inputs)
        guard !out.output.isDirect else {
            out.abandon()
            throw ToolError(file: path, "--format npy rewrites its header at the end: give a regular file, not stdout, a device or a FIFO")
        }
        do { rowsOut = try OutputFile(path + ".rows.tsv", inputs: inputs) } catch { out.abandon(); throw error }
        self.dim = dim
        try Self.header(rows: 0, dim: dim).withUnsafeBytes { try out.write(bytes: $0) }
        try rowsOut.write("seq_id\t" + (pooled ? "length" : "position") + "\n")
    }

    /// The `.npy` header for a (rows, dim) float32 array, `headerBytes` long.
    static func header(rows: Int, dim: Int) -> [UInt8] {
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(dim)), }"
        let bodyLength = headerBytes - 10
        let text = dict + String(repeating: " ", count: max(0, bodyLength - dict.utf8.count - 1)) + "\n"
        precondition(text.utf8.count == bodyLength, "shape too long for the reserved .npy header")
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(bodyLength & 0xFF), UInt8(bodyLength >> 8)] + Array(text.utf8)
    }

    /// (rows, columns, data offset) of a header this sink writes (`<f4`, C order, 2-D); nil for anything else.
    static func parseHeader(_ bytes: Data) -> (rows: Int, dim: Int, offset: Int)? {
        let b = [UInt8](bytes)
        guard b.count >= 10, b[0] == 0x93, Array(b[1..<6]) == Array("NUMPY".utf8), b[6] == 1 else { return nil }
        let offset = 10 + Int(b[8]) + Int(b[9]) << 8
        guard b.count >= offset, let text = String(bytes: b[10..<offset], encoding: .ascii),
              text.contains("'descr': '<f4'"), text.contains("'fortran_order': False"),
              let open = text.range(of: "'shape': ("), let close = text[open.upperBound...].firstIndex(of: ")") else { return nil }
        let dims = text[open.upperBound..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard dims.count == 2, let r = Int(dims[0]), let d = Int(dims[1]) else { return nil }
        return (r, d, offset)
    }

    func perBase(name: String, firstPosition: Int, rows r: UnsafePointer<Float>, count: Int, continuation: Bool) throws {
        try out.write(bytes: UnsafeRawBufferPointer(start: r, count: count * dim * 4))
        var text = ""
        for i in 0..<count { text += name + "\t" + String(firstPosition + i) + "\n" }
        try rowsOut.write(text)
        rows += count
    }

    func pooled(name: String, length: Int, vector: [Float]) throws {
        try vector.withUnsafeBytes { try out.write(bytes: $0) }
        try rowsOut.write(name + "\t" + String(length) + "\n")
        rows += 1
    }

    func finish() throws {
        try out.rewrite(at: 0, Self.header(rows: rows, dim: dim))
        try out.commit()
        try rowsOut.commit()
    }

    func abandon() { out.abandon(); rowsOut.abandon() }
}
