import Foundation
import MambaKernels
import MambaModel

/// A read classifier: Mamba backbone → mean over each sequence's positions → linear head.
///
///   hidden = encoder(tokens)            (L, d)     norm_f output
///   pooled = mean_t hidden[t]           (d)
///   logits = pooled · Wᵀ + b            (C)        W = classifier.weight (C, d), b = classifier.bias (C)
///
/// With `rcAverage`, predictions average the logits of the read and of its reverse complement, so a read
/// and its reverse complement get the same answer (reads come from either strand).
public final class SequenceClassifier {
    public static let architecture = "MambaDNASequenceClassifier"

    public let encoder: MambaLMModel
    public let head: Tensor        // (C, d)
    public let headBias: Tensor    // (C)
    public let labels: [String]
    public var rcAverage: Bool

    public var classCount: Int { labels.count }
    public var dModel: Int { encoder.config.dModel }

    public init(encoder: MambaLMModel, head: Tensor, headBias: Tensor, labels: [String], rcAverage: Bool = true) {
        precondition(head.shape == [labels.count, encoder.config.dModel] && headBias.shape == [labels.count])
        self.encoder = encoder; self.head = head; self.headBias = headBias; self.labels = labels
        self.rcAverage = rcAverage
    }

    /// A fresh head (U(±1/√d), PyTorch's Linear default) on `encoder`.
    public convenience init(encoder: MambaLMModel, labels: [String], seed: UInt64, rcAverage: Bool = true) {
        var rng = RandomSource(seed: seed)
        let d = encoder.config.dModel, bound = 1 / Float(d).squareRoot()
        var w = [Float](repeating: 0, count: labels.count * d)
        rng.fillUniform(&w, low: -bound, high: bound)
        self.init(encoder: encoder, head: Tensor(shape: [labels.count, d], values: w),
                  headBias: Tensor(shape: [labels.count]), labels: labels, rcAverage: rcAverage)
    }

    /// Backbone tensors under the mamba_ssm names, then the head.
    public func namedTensors() -> [(String, Tensor)] {
        encoder.namedTensors() + [("classifier.weight", head), ("classifier.bias", headBias)]
    }

    /// A deep copy (the weights at this moment, e.g. the best model during training).
    public func copy() throws -> SequenceClassifier {
        var t: [String: Tensor] = [:]
        for (name, tensor) in encoder.namedTensors() { t[name] = tensor.copy() }
        let enc = try MambaLMModel.load(WeightStore(file: MemoryTensorFile(t)), config: encoder.config)
        return SequenceClassifier(encoder: enc, head: head.copy(), headBias: headBias.copy(), labels: labels,
                                  rcAverage: rcAverage)
    }

    /// Overwrites these weights with `other`'s (same architecture).
    public func load(weightsOf other: SequenceClassifier) {
        for ((_, a), (_, b)) in zip(namedTensors(), other.namedTensors()) {
            precondition(a.shape == b.shape)
            a.data.update(from: b.ptr, count: a.count)
        }
    }

    // MARK: inference

    /// Logits (R, C) for R sequences packed back to back in `tokens` (lengths ≥ 1). Single-threaded
    /// unless the kernels' own thread settings say otherwise.
    public func logits(packed tokens: [Int32], lengths: [Int]) -> [Float] {
        var out = forwardLogits(tokens, lengths)
        if rcAverage {
            // Reverse complement of the whole packed buffer = the reads' reverse complements in reverse order.
            let rc = forwardLogits(DNATokenizer.reverseComplement(tokens), lengths.reversed())
            let R = lengths.count, C = classCount
            for r in 0..<R { for c in 0..<C { out[r * C + c] = 0.5 * (out[r * C + c] + rc[(R - 1 - r) * C + c]) } }
        }
        return out
    }

    private func forwardLogits(_ tokens: [Int32], _ lengths: [Int]) -> [Float] {
        let d = dModel, C = classCount, R = lengths.count
        let hidden = encoder.hiddenStates(packed: tokens, segments: Segments(lengths: lengths))
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
                                outFeatures: C, y: o.baseAddress!)
                }
            }
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
