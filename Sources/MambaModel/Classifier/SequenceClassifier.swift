import Foundation
import MambaKernels

/// A read classifier: Mamba or Caduceus backbone → pooling over each sequence's positions → linear head.
///
/// `.mean` pooling (the default) pools the embeddings, then applies the head:
///
///   hidden = encoder(tokens)            (L, d)     norm_f output (RCPS: the strands' mean, `ClassifierEncoder`)
///   pooled = mean_t hidden[t]           (d)
///   logits = pooled · Wᵀ + b            (C)        W = classifier.weight (C, d), b = classifier.bias (C)
///
/// `.max` and `.logsumexp` apply the head at every position, then pool each class's column over positions:
///
///   z[t]      = hidden[t] · Wᵀ + b      (L, C)     per-position logits
///   logits[c] = max_t z[t,c]  or  log((1/L) Σ_t exp z[t,c])
///
/// (the log-mean-exp, so that a constant column pools to itself whatever the length). A short site then
/// decides the sequence instead of being averaged with every other position.
///
/// With `rcAverage`, predictions average the logits of the read and of its reverse complement, so a read
/// and its reverse complement get the same answer (reads come from either strand). For max/logsumexp the
/// strands are averaged after pooling, as each strand is trained on: the encoder reads one way, so a site
/// peaks at its last base on one strand and at its first on the other. An RCPS Caduceus backbone is strand
/// invariant already, so `rcAverage` stays false there (running the read twice would give the same logits).
public final class SequenceClassifier {
    public static let architecture = "MambaDNASequenceClassifier"

    public private(set) var encoder: ClassifierEncoder
    public let head: Tensor        // (C, d)
    public let headBias: Tensor    // (C)
    public let labels: [String]
    /// Always false on a reverse-complement-equivariant backbone.
    public var rcAverage: Bool {
        didSet { if encoder.isReverseComplementEquivariant { rcAverage = false } }
    }
    public let pooling: ClassifierPooling

    public var classCount: Int { labels.count }

    /// Sets the precision of the encoder's projections for inference (see `Precision`); the head stays fp32.
    /// Training must not run on a model set to bf16: its bf16 copies would not follow the updated weights.
    @discardableResult
    public func usePrecision(_ p: Precision, features: CPUFeatures = .current) -> PrecisionChoice {
        encoder.usePrecision(p, features: features)
    }
    public var dModel: Int { encoder.dModel }

    public init(encoder: ClassifierEncoder, head: Tensor, headBias: Tensor, labels: [String], rcAverage: Bool = true,
                pooling: ClassifierPooling = .mean) {
        precondition(head.shape == [labels.count, encoder.dModel] && headBias.shape == [labels.count])
        self.encoder = encoder; self.head = head; self.headBias = headBias; self.labels = labels
        self.rcAverage = rcAverage && !encoder.isReverseComplementEquivariant; self.pooling = pooling
    }

    public convenience init(encoder: MambaLMModel, head: Tensor, headBias: Tensor, labels: [String],
                            rcAverage: Bool = true, pooling: ClassifierPooling = .mean) {
        self.init(encoder: .mamba(encoder), head: head, headBias: headBias, labels: labels, rcAverage: rcAverage,
                  pooling: pooling)
    }

    /// Backbone tensors under the checkpoint's names, then the head.
    public func namedTensors() -> [(String, Tensor)] {
        encoder.namedTensors + [("classifier.weight", head), ("classifier.bias", headBias)]
    }

    /// A deep copy (the weights at this moment, e.g. the best model during training).
    public func copy() throws -> SequenceClassifier {
        SequenceClassifier(encoder: try encoder.copy(), head: head.copy(), headBias: headBias.copy(), labels: labels,
                           rcAverage: rcAverage, pooling: pooling)
    }

    /// Overwrites these weights with `other`'s (same architecture).
    public func load(weightsOf other: SequenceClassifier) {
        for ((_, a), (_, b)) in zip(namedTensors(), other.namedTensors()) {
            precondition(a.shape == b.shape)
            a.data.update(from: b.ptr, count: a.count)
        }
    }

    // MARK: inference

    /// Logits (R, C) for R sequences packed back to back in `tokens` (lengths ≥ 1), on `threads` threads (the
    /// result does not depend on it).
    public func logits(packed tokens: [Int32], lengths: [Int], threads: Int = 1) -> [Float] {
        if lengths.count == 1, tokens.count > streamingThreshold, case .mamba(let m) = encoder {
            // One long read: both strands stream, the reverse complement chunk by chunk (no copy of the read).
            var out = streamedLogits(tokens, model: m, reverseComplement: false, threads: threads)
            if rcAverage {
                let rc = streamedLogits(tokens, model: m, reverseComplement: true, threads: threads)
                for c in out.indices { out[c] = 0.5 * (out[c] + rc[c]) }
            }
            return out
        }
        var out = forwardLogits(tokens, lengths, threads: threads)
        if rcAverage {
            // Reverse complement of the whole packed buffer = the reads' reverse complements in reverse order.
            let rc = forwardLogits(DNATokenizer.reverseComplement(tokens), lengths.reversed(), threads: threads)
            let R = lengths.count, C = classCount
            for r in 0..<R { for c in 0..<C { out[r * C + c] = 0.5 * (out[r * C + c] + rc[(R - 1 - r) * C + c]) } }
        }
        return out
    }

    /// Per-position logits (T, C), `z[t] = hidden[t]·Wᵀ + b`, of R sequences packed back to back, on the
    /// strand given (no strand averaging). Pooled per sequence, they are the logits of `.max` and
    /// `.logsumexp` before strand averaging.
    public func positionLogits(packed tokens: [Int32], lengths: [Int], threads: Int = 1) -> [Float] {
        let d = dModel, C = classCount
        let hidden = encoder.hiddenStates(packed: tokens, segments: Segments(lengths: lengths), threads: threads)
        var out = [Float](repeating: 0, count: tokens.count * C)
        hidden.withUnsafeBufferPointer { h in
            out.withUnsafeMutableBufferPointer { o in
                Gemm.linear(x: h.baseAddress!, rows: tokens.count, inFeatures: d, weight: head.ptr, bias: headBias.ptr,
                            outFeatures: C, y: o.baseAddress!, threads: threads)
            }
        }
        return out
    }

    /// A single sequence longer than this many tokens runs through the streaming encoder (causal backbones), so
    /// that memory stays that of one chunk instead of L × d_model floats (20 Mbp at d_model 64: 5 GB).
    public var streamingThreshold = 65_536

    private func forwardLogits(_ tokens: [Int32], _ lengths: [Int], threads: Int) -> [Float] {
        let d = dModel, C = classCount, R = lengths.count
        if pooling != .mean {
            let z = positionLogits(packed: tokens, lengths: lengths, threads: threads)
            var out = [Float](repeating: 0, count: R * C)
            z.withUnsafeBufferPointer { zp in
                out.withUnsafeMutableBufferPointer { o in
                    var row = 0
                    for (r, n) in lengths.enumerated() {
                        pooling.forward(z: zp.baseAddress! + row * C, rows: n, classes: C, y: o.baseAddress! + r * C)
                        row += n
                    }
                }
            }
            return out
        }
        let hidden = encoder.hiddenStates(packed: tokens, segments: Segments(lengths: lengths), threads: threads)
        var pooled = [Float](repeating: 0, count: R * d)
        var out = [Float](repeating: 0, count: R * C)
        hidden.withUnsafeBufferPointer { h in
            pooled.withUnsafeMutableBufferPointer { p in
                var row = 0
                for (r, n) in lengths.enumerated() {
                    MeanPool.forward(x: h.baseAddress! + row * d, rows: n, channels: d, y: p.baseAddress! + r * d)
                    row += n
                }
                out.withUnsafeMutableBufferPointer { o in
                    Gemm.linear(x: p.baseAddress!, rows: R, inFeatures: d, weight: head.ptr, bias: headBias.ptr,
                                outFeatures: C, y: o.baseAddress!, threads: threads)
                }
            }
        }
        return out
    }

    /// Logits (C) of one sequence of a causal backbone, pooled as the chunks stream by: the mean of the hidden
    /// states (summed in Double), or the running max / log-mean-exp of the per-position logits. Same pooling as the
    /// whole-sequence path, summed in another order.
    /// `reverseComplement`: of the read's reverse complement, made chunk by chunk.
    private func streamedLogits(_ tokens: [Int32], model: MambaLMModel, reverseComplement: Bool, threads: Int) -> [Float] {
        let d = dModel, C = classCount, L = tokens.count
        let enc = StreamingEncoder(model: model, threads: threads)
        let chunk = max(1, model.chunkRows)
        var hidden = [Float](repeating: 0, count: chunk * d), z = [Float](repeating: 0, count: chunk * C)
        var rcChunk = [Int32](repeating: 0, count: reverseComplement ? chunk : 0)
        var sum = [Double](repeating: 0, count: d)                        // .mean: Σ_t h[t]
        var peak = [Float](repeating: -.infinity, count: C)              // .max, .logsumexp: max_t z[t, c]
        var scaled = [Double](repeating: 0, count: C)                    // .logsumexp: Σ_t exp(z[t, c] − peak[c])
        tokens.withUnsafeBufferPointer { tk in
            var a = 0
            while a < L {
                let n = min(chunk, L - a)
                if reverseComplement {
                    // Positions a..<a+n of the reverse complement: the complements of tokens L−1−a down to L−a−n.
                    for t in 0..<n { rcChunk[t] = DNATokenizer.complement(tk[L - 1 - a - t]) }
                    rcChunk.withUnsafeBufferPointer { r in
                        hidden.withUnsafeMutableBufferPointer { enc.consume(r.baseAddress!, count: n, resetBefore: nil, into: $0.baseAddress!) }
                    }
                } else {
                    hidden.withUnsafeMutableBufferPointer { enc.consume(tk.baseAddress! + a, count: n, resetBefore: nil, into: $0.baseAddress!) }
                }
                if pooling == .mean {
                    for t in 0..<n { for c in 0..<d { sum[c] += Double(hidden[t * d + c]) } }
                } else {
                    hidden.withUnsafeBufferPointer { h in
                        z.withUnsafeMutableBufferPointer { zp in
                            Gemm.linear(x: h.baseAddress!, rows: n, inFeatures: d, weight: head.ptr, bias: headBias.ptr,
                                        outFeatures: C, y: zp.baseAddress!)
                        }
                    }
                    for c in 0..<C {
                        var m = peak[c]
                        for t in 0..<n { m = Swift.max(m, z[t * C + c]) }
                        if pooling == .logsumexp {
                            if m > peak[c] { scaled[c] *= Foundation.exp(Double(peak[c] - m)) }
                            for t in 0..<n { scaled[c] += Double(Foundation.exp(z[t * C + c] - m)) }
                        }
                        peak[c] = m
                    }
                }
                a += n
            }
        }
        var out = [Float](repeating: 0, count: C)
        switch pooling {
        case .mean:
            let pooled = sum.map { Float($0 / Double(L)) }
            pooled.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    Gemm.linear(x: p.baseAddress!, rows: 1, inFeatures: d, weight: head.ptr, bias: headBias.ptr,
                                outFeatures: C, y: o.baseAddress!)
                }
            }
        case .max: out = peak
        case .logsumexp: for c in 0..<C { out[c] = peak[c] + Float(Foundation.log(scaled[c] / Double(L))) }
        }
        return out
    }

    /// Row-wise softmax of (R, C) logits, in place.
    public static func softmax(_ logits: inout [Float], classes C: Int) {
        for r in 0..<(logits.count / C) {
            var m = -Float.infinity
            for c in 0..<C { m = max(m, logits[r * C + c]) }
            var s: Float = 0
            for c in 0..<C { let e = Foundation.exp(logits[r * C + c] - m); logits[r * C + c] = e; s += e }
            for c in 0..<C { logits[r * C + c] /= s }
        }
    }
}

/// How a `SequenceClassifier` pools over a sequence's positions (`pooling` in config.json).
public enum ClassifierPooling: String, CaseIterable, Sendable {
    /// Mean of the embeddings, then the head.
    case mean
    /// The head at every position, then the maximum of each class's logit.
    case max
    /// The head at every position, then log((1/L) Σ_t exp) of each class's logit: between the mean and the
    /// maximum, with a gradient for every position.
    case logsumexp

    /// y[c] = pool over t of z[t, c].  z: (rows, classes) per-position logits, rows ≥ 1; y: (classes).
    public func forward(z: UnsafePointer<Float>, rows: Int, classes C: Int, y: UnsafeMutablePointer<Float>) {
        precondition(rows > 0)
        for c in 0..<C {
            var m = -Float.infinity, sum = 0.0
            for t in 0..<rows { m = Swift.max(m, z[t * C + c]) }
            switch self {
            case .max:
                y[c] = m
            case .mean:
                for t in 0..<rows { sum += Double(z[t * C + c]) }
                y[c] = Float(sum / Double(rows))
            case .logsumexp:
                for t in 0..<rows { sum += Double(Foundation.exp(z[t * C + c] - m)) }
                y[c] = m + Float(Foundation.log(sum / Double(rows)))
            }
        }
    }
}
