import DNATasks
import Foundation
import MambaKernels
import MambaModel

/// Whole-encoder figures: tokens/s of the unidirectional stack (streamed), of Caduceus-PS dims, and of packed reads.
enum BenchEncoders {
    /// The d_model 256 × 16 layer stack: `--model DIR` when given (must be a Mamba checkpoint), else random
    /// weights from the seed; `--save-model DIR` writes it out so others can run the very same model.
    static func mainModel(_ o: Benchmark.Options) throws -> MambaLMModel {
        var model: MambaLMModel
        if let dir = o.modelDirectory {
            guard let m = try MambaCheckpoint.load(dir) as? MambaLMModel else {
                throw ToolError("\(dir): the encoder benchmark needs a Mamba (unidirectional) checkpoint")
            }
            model = m
        } else {
            model = try BenchModels.mamba(dModel: 256, layers: 16, seed: o.seed)
        }
        if let dir = o.saveModelDirectory { try model.save(to: dir) }
        model.layerPipeline = o.layerPipeline
        return model
    }

    /// On one thread all the work runs on the calling thread, so its CPU time gives a throughput that other
    /// processes on a busy machine do not distort: recorded as `tokens_per_cpu_s`.
    /// With more threads, `tokens_per_process_cpu_s` (all threads' CPU time) measures the work done per token
    /// the same way; on a busy machine, that figure times the thread count bounds what idle cores would give.
    static func cpuFigure(_ r: inout Benchmark.Result, _ o: Benchmark.Options,
                          _ s: (wall: [Double], cpu: [Double], processCPU: [Double]), _ tokens: Double) {
        if o.threads == 1 { r.extra["tokens_per_cpu_s"] = tokens / BenchClock.median(s.cpu) }
        r.extra["tokens_per_process_cpu_s"] = tokens / BenchClock.median(s.processCPU)
    }

    static func label(_ m: MambaLMModel) -> String { "d\(m.config.dModel)×\(m.config.nLayer)" }

    /// Tokens/s streaming L tokens through the stack, `streamChunk` tokens per call, output rows discarded.
    static func unidirectional(_ o: Benchmark.Options, _ report: (Benchmark.Result) -> Void) throws {
        try perPrecision(try mainModel(o), o, report) { model, report in
            unidirectional(model, o, report)
        }
    }

    static func unidirectional(_ model: MambaLMModel, _ o: Benchmark.Options, _ report: (Benchmark.Result) -> Void) {
        let d = model.config.dModel, piece = max(1, o.streamChunk ?? model.chunkRows)
        let enc = StreamingEncoder(model: model)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: piece * d)
        defer { out.deallocate() }
        for L in o.lengths {
            let tokens = BenchModels.randomTokens(L, seed: o.seed &+ 7)
            let s = BenchClock.measure(runs: o.runs) {
                enc.reset()
                tokens.withUnsafeBufferPointer { tk in
                    var a = 0
                    while a < L {
                        let n = min(piece, L - a)
                        enc.consume(tk.baseAddress! + a, count: n, resetBefore: nil, into: out)
                        a += n
                    }
                }
            }
            var r = Benchmark.result(.encoder, "\(label(model)) unidirectional tokens/s", threads: o.threads, length: L,
                                     unit: "tokens/s", seconds: s.wall) { Double(L) / $0 }
            cpuFigure(&r, o, s, Double(L))
            report(r)
        }
    }

    /// Tokens/s of the Caduceus-PS dims (bidirectional, RCPS) over one sequence of `caduceusLength` tokens.
    static func caduceus(_ o: Benchmark.Options, _ report: (Benchmark.Result) -> Void) throws {
        let L = o.caduceusLength
        let tokens = BenchModels.randomTokens(L, seed: o.seed &+ 7)
        try perPrecision(try BenchModels.caduceus(dModel: 256, layers: 16, seed: o.seed), o, report) { model, report in
            let s = BenchClock.measure(runs: o.runs) { _ = model.hiddenStates(tokens) }
            var r = Benchmark.result(.caduceus, "Caduceus-PS d256×16 tokens/s", threads: o.threads, length: L,
                                     unit: "tokens/s", seconds: s.wall) { Double(L) / $0 }
            cpuFigure(&r, o, s, Double(L))
            report(r)
        }
    }

    /// Reads/s and tokens/s for 150 bp reads packed `batchBases` bases to a batch, for the d256×16 stack and a
    /// d64×4 model.
    static func packed(_ o: Benchmark.Options, _ report: (Benchmark.Result) -> Void) throws {
        let big = try mainModel(o)
        let small = try BenchModels.mamba(dModel: 64, layers: 4, seed: o.seed)
        // About a second of work per run on two cores for either model.
        for (fp32Model, reads) in [(big, 256), (small, 4096)] {
          try perPrecision(fp32Model, o, report) { model, report in
            let rl = o.readLength, perBatch = max(1, o.batchBases / rl)
            let tokens = BenchModels.randomTokens(reads * rl, seed: o.seed &+ 11)
            let s = BenchClock.measure(runs: o.runs) {
                var first = 0
                while first < reads {
                    let k = min(perBatch, reads - first)
                    let batch = Array(tokens[(first * rl)..<((first + k) * rl)])
                    _ = model.hiddenStates(packed: batch, segments: Segments(lengths: Array(repeating: rl, count: k)))
                    first += k
                }
            }
            let name = "\(label(model)) packed \(rl) bp reads"
            var r = Benchmark.result(.packed, name + " tokens/s", threads: o.threads, length: rl, unit: "tokens/s",
                                     seconds: s.wall) { Double(reads * rl) / $0 }
            r.extra["reads_per_s"] = Double(reads) / BenchClock.median(s.wall)
            r.extra["batch_bases"] = Double(perBatch * rl)
            cpuFigure(&r, o, s, Double(reads * rl))
            report(r)
            report(Benchmark.result(.packed, name + " reads/s", threads: o.threads, length: rl, unit: "reads/s",
                                    seconds: s.wall) { Double(reads) / $0 })
          }
        }
    }

    /// Runs `body` once per precision of `o.precisions`, on the model set to it. Each figure is reported with the
    /// precision it ran in and, when fp32 ran first in this process, its ratio to the fp32 figure (`vs_fp32`).
    static func perPrecision<M: SequenceModel>(_ model: M, _ o: Benchmark.Options, _ report: (Benchmark.Result) -> Void,
                                               _ body: (M, (Benchmark.Result) -> Void) throws -> Void) throws {
        var fp32: [String: Double] = [:]
        try withoutActuallyEscaping(report) { report in
            for p in o.precisions {
                var m = model
                m.compute = Compute(threads: o.threads)
                let choice = m.usePrecision(p)
                try body(m) { result in
                    var r = result
                    r.precision = choice
                    let key = "\(r.name)|\(r.length ?? -1)|\(r.threads)"
                    if p == .fp32 { fp32[key] = r.value } else if let base = fp32[key] { r.extra["vs_fp32"] = r.value / base }
                    report(r)
                }
            }
        }
    }
}
