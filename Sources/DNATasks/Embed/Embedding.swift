import FileOutput
import Foundation
import MambaModel
import SeqIO

/// `embed`: per-base or pooled hidden states of a Mamba / Caduceus model for every input sequence.
public enum EmbeddingExport {
    public enum Pooling: String, CaseIterable, Sendable { case mean, max, first, last }
    public enum Format: String, CaseIterable, Sendable { case tsv, safetensors, npy }

    public struct Options {
        public var modelDirectory: String
        public var input: String                  // FASTA/FASTQ/SAM/BAM/CRAM, "-" = stdin
        public var region: String?                // samtools syntax; needs an indexed BAM/CRAM or FASTA
        public var output: String?                // nil = stdout
        public var format: Format = .tsv
        public var pooling: Pooling?              // nil = one row per base
        public var threads = 1
        public var reference: String?             // FASTA for CRAM decoding
        /// Arithmetic of the encoder's projections; bf16 falls back to fp32 (with a note) on a CPU without it.
        public var precision: Precision = .default
        /// Bases packed into one model pass; short reads are concatenated up to this many
        /// (capped at the model's block size, so a batch runs as one block).
        public var batchBases = 8192
        /// Called after each record with the records and bases read so far (a progress display).
        public var progress: ((_ records: Int, _ bases: Int) -> Void)?
        /// Embed only this part of the records (by record index) and write its manifest beside `output`.
        public var shard: Shard?
        public init(modelDirectory: String, input: String) { self.modelDirectory = modelDirectory; self.input = input }
    }

    /// A problem with the request itself (not with a file's content).

    public struct Summary: Sendable {
        public var sequences = 0
        public var bases = 0
        public var skippedEmpty = 0
    }

    /// One input sequence: its id, bases, and the 0-based coordinate of its first base
    /// (the region start for reference slices, 0 for reads).
    struct Record {
        var name: String
        var bases: [UInt8]
        var offset: Int
    }

    /// Runs the whole export. Output goes to a temporary file renamed into place at the end,
    /// so a failure leaves no partial output file.
    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void = { _ in }) throws -> Summary {
        if o.format != .tsv && o.output == nil {
            throw ToolError("--format \(o.format.rawValue) needs -o FILE (binary output is not written to stdout)")
        }
        if o.shard != nil {
            if o.region != nil { throw ToolError(file: "--shard", "parts are cut from the input's records; -r embeds one region") }
            if o.format == .safetensors { throw ToolError(file: "--shard", "pieces can be merged as tsv or npy, not safetensors") }
            try ShardManifest.prepare(output: o.output)
        }
        let inputs = [o.input] + (o.reference.map { [$0] } ?? [])
        if let output = o.output { try OutputPath.validate(output, inputs: inputs) }
        var model = try MambaCheckpoint.load(o.modelDirectory)
        model.compute = Compute(threads: o.threads)
        let precision = model.usePrecision(o.precision)
        if let why = precision.fallbackReason { log("--precision bf16: running fp32 (\(why))") }
        let effectivePrecision = precision.fallbackReason == nil ? o.precision : .fp32
        let sink: EmbeddingSink
        switch o.format {
        case .tsv: sink = try TSVEmbeddingSink(path: o.output, inputs: inputs, dim: model.outputDim, pooled: o.pooling != nil)
        case .safetensors: sink = SafetensorsEmbeddingSink(path: o.output!, dim: model.outputDim, pooling: o.pooling,
                                                           model: o.modelDirectory)
        case .npy: sink = try NPYEmbeddingSink(path: o.output!, inputs: inputs, dim: model.outputDim, pooled: o.pooling != nil)
        }
        var summary = Summary()
        var shardRange: ShardRange?
        do {
            var runner = Runner(model: model, pooling: o.pooling, sink: sink, batchBases: max(1, min(o.batchBases, model.chunkRows)))
            shardRange = try forEachRecord(o) { rec in
                if rec.bases.isEmpty {
                    summary.skippedEmpty += 1
                    log("skipping empty sequence '\(rec.name)'")
                    return
                }
                summary.sequences += 1
                summary.bases += rec.bases.count
                o.progress?(summary.sequences, summary.bases)
                try runner.add(rec)
            }
            try runner.flush()
            try sink.finish()
        } catch {
            sink.abandon()
            throw error
        }
        if let shardRange, let output = o.output {
            let settings = ["model=" + ShardManifest.model(o.modelDirectory), "pool=\(o.pooling?.rawValue ?? "per-base")",
                            "precision=\(effectivePrecision.rawValue)", "reference=\(o.reference ?? "-")"].joined(separator: " ")
            var m = try ShardManifest(task: "embed", format: o.format.rawValue, settings: settings, input: o.input,
                                      range: shardRange, output: output)
            if o.format == .npy { m.companions[m.output + ".rows.tsv"] = ShardManifest.size(output + ".rows.tsv") ?? -1 }
            try m.write(beside: output)
            log(shardRange.text)
        }
        return summary
    }

    /// Calls `body` for each input sequence: records of a FASTA/FASTQ, primary reads of an alignment
    /// file (as sequenced: reverse-strand reads are reverse-complemented back), or with `region`,
    /// the reads overlapping it (indexed BAM/CRAM) or the reference slice (indexed FASTA).
    @discardableResult
    static func forEachRecord(_ o: Options, _ body: (Record) throws -> Void) throws -> ShardRange? {
        if let region = o.region {
            guard o.input != "-" else { throw ToolError("-r needs an indexed file, not stdin") }
            let detected = try DetectedFormat.detect(path: o.input)
            if detected.format.isAlignment {
                let reader = try AlignmentReader(path: o.input, reference: o.reference, threads: o.threads)
                try reader.query(region)
                try forEachRead(reader, body)
            } else if detected.format == .fasta {
                let fasta = try ReferenceFasta(path: o.input)
                let r = try Region.parse(region, contigs: fasta.contigs, source: "-r")
                try body(Record(name: r.contig, bases: try fasta.fetch(r), offset: r.start))
            } else {
                throw ToolError("\(o.input): -r needs an indexed FASTA or BAM/CRAM, not \(detected.format.rawValue)")
            }
            return nil
        }
        return try ReadSource.forEach(o.input, reference: o.reference, threads: o.threads, shard: o.shard) { r in
            try body(Record(name: r.name, bases: r.bases, offset: 0))
        }
    }

    private static func forEachRead(_ reader: AlignmentReader, _ body: (Record) throws -> Void) throws {
        while let rec = try reader.next() {
            if rec.flags.contains(.secondary) || rec.flags.contains(.supplementary) { continue }
            try body(Record(name: rec.name, bases: rec.originalOrientation.sequence, offset: 0))
        }
    }

    /// Packs short sequences into batches, runs the model, hands rows (or pooled vectors) to the sink.
    struct Runner {
        let model: any SequenceModel
        let pooling: Pooling?
        let sink: EmbeddingSink
        let batchBases: Int
        var pending: [(Record, [Int32])] = []
        var pendingBases = 0

        init(model: any SequenceModel, pooling: Pooling?, sink: EmbeddingSink, batchBases: Int) {
            self.model = model; self.pooling = pooling; self.sink = sink; self.batchBases = batchBases
        }

        mutating func add(_ rec: Record) throws {
            let tokens = DNATokenizer.encode(rec.bases)
            if tokens.count >= batchBases {
                try flush()
                try runLong(rec, tokens)
                return
            }
            if pendingBases + tokens.count > batchBases { try flush() }
            pending.append((rec, tokens))
            pendingBases += tokens.count
        }

        mutating func flush() throws {
            guard !pending.isEmpty else { return }
            let lengths = pending.map { $0.1.count }
            let hidden = model.hiddenStates(packed: pending.flatMap { $0.1 }, segments: Segments(lengths: lengths))
            let D = model.outputDim
            var row = 0
            try hidden.withUnsafeBufferPointer { h in
                for (rec, tokens) in pending {
                    try emit(rec, rows: h.baseAddress! + row * D, count: tokens.count)
                    row += tokens.count
                }
            }
            pending.removeAll(keepingCapacity: true)
            pendingBases = 0
        }

        /// A long sequence on its own. Causal models stream it in chunks, writing rows as they come,
        /// so memory stays bounded by the chunk; others run it whole (layer by layer).
        func runLong(_ rec: Record, _ tokens: [Int32]) throws {
            let D = model.outputDim
            if let causal = model as? MambaLMModel {
                let enc = StreamingEncoder(model: causal)
                var pool = Pool(pooling: pooling, dim: D)
                var a = 0
                while a < tokens.count {
                    let n = min(batchBases, tokens.count - a)
                    let rows = enc.consume(Array(tokens[a..<(a + n)]))
                    try rows.withUnsafeBufferPointer { try emitRows(rec, rows: $0.baseAddress!, count: n, first: a, pool: &pool) }
                    a += n
                }
                if pooling != nil { try sink.pooled(name: rec.name, length: tokens.count, vector: pool.result()) }
                return
            }
            let hidden = model.hiddenStates(tokens)
            try hidden.withUnsafeBufferPointer { try emit(rec, rows: $0.baseAddress!, count: tokens.count) }
        }

        /// All rows of a sequence at once.
        func emit(_ rec: Record, rows: UnsafePointer<Float>, count: Int) throws {
            var p = Pool(pooling: pooling, dim: model.outputDim)
            try emitRows(rec, rows: rows, count: count, first: 0, pool: &p)
            if pooling != nil { try sink.pooled(name: rec.name, length: count, vector: p.result()) }
        }

        func emitRows(_ rec: Record, rows: UnsafePointer<Float>, count: Int, first: Int, pool: inout Pool) throws {
            if pooling == nil {
                try sink.perBase(name: rec.name, firstPosition: rec.offset + first + 1, rows: rows, count: count,
                                 continuation: first > 0)
            } else {
                pool.add(rows, count: count)
            }
        }
    }

    /// Running mean / max / first / last over rows.
    struct Pool {
        let pooling: Pooling?
        let dim: Int
        var acc: [Float]
        var n = 0
        init(pooling: Pooling?, dim: Int) {
            self.pooling = pooling; self.dim = dim
            acc = [Float](repeating: pooling == .max ? -.infinity : 0, count: dim)
        }
        mutating func add(_ rows: UnsafePointer<Float>, count: Int) {
            guard let pooling, count > 0 else { return }
            switch pooling {
            case .mean: for r in 0..<count { for c in 0..<dim { acc[c] += rows[r * dim + c] } }
            case .max: for r in 0..<count { for c in 0..<dim { acc[c] = Swift.max(acc[c], rows[r * dim + c]) } }
            case .first: if n == 0 { for c in 0..<dim { acc[c] = rows[c] } }
            case .last: for c in 0..<dim { acc[c] = rows[(count - 1) * dim + c] }
            }
            n += count
        }
        func result() -> [Float] { pooling == .mean ? acc.map { $0 / Float(Swift.max(n, 1)) } : acc }
    }
}
