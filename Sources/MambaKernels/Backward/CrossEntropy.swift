import Foundation

/// Softmax cross-entropy over rows of logits (PyTorch `F.cross_entropy` with `ignore_index`, mean reduction).
///
/// Shapes: logits, dLogits: (rows, classes) with row stride `ld`; targets: (rows), a class index or `ignoreIndex`.
///   loss    = (1/N) Σ_{i: target ≠ ignore} [logsumexp(logits[i]) − logits[i, target[i]]]
///   dLogits = (softmax(logits[i]) − onehot(target[i])) / N on those rows, 0 on ignored rows
/// N is the number of non-ignored rows, or `divisor` when given (for a batch split over several calls, pass the
/// batch's total). With N = 0 the loss and gradient are 0 (PyTorch would return NaN).
/// Masked-LM is the same call with labels −100 at the unmasked positions.
public enum CrossEntropy {
    public static let ignoreIndex = -100

    /// Loss only (evaluation).
    public static func forward(logits: UnsafePointer<Float>, ld: Int? = nil, rows: Int, classes: Int,
                               targets: UnsafePointer<Int>, divisor: Int? = nil) -> Float {
        lossAndGradient(logits: logits, ld: ld, rows: rows, classes: classes, targets: targets,
                        dLogits: nil, divisor: divisor)
    }

    /// Loss, and the gradient of `scale`·loss written into dLogits (overwritten) when it is given.
    @discardableResult
    public static func lossAndGradient(logits: UnsafePointer<Float>, ld: Int? = nil, rows: Int, classes: Int,
                                       targets: UnsafePointer<Int>, dLogits: UnsafeMutablePointer<Float>?,
                                       divisor: Int? = nil, scale: Float = 1) -> Float {
        let stride = ld ?? classes
        var counted = 0
        for i in 0..<rows where targets[i] != ignoreIndex {
            precondition(targets[i] >= 0 && targets[i] < classes, "target \(targets[i]) outside 0..<\(classes)")
            counted += 1
        }
        let n = divisor ?? counted
        let invN: Float = n > 0 ? 1 / Float(n) : 0
        var total: Double = 0
        for i in 0..<rows {
            let row = logits + i * stride
            let target = targets[i]
            if target == ignoreIndex {
                if let dLogits { (dLogits + i * stride).update(repeating: 0, count: classes) }
                continue
            }
            var m = -Float.infinity
            for v in 0..<classes { m = max(m, row[v]) }
            var sum: Double = 0
            for v in 0..<classes { sum += Double(Foundation.exp(row[v] - m)) }
            total += Foundation.log(sum) + Double(m) - Double(row[target])
            guard let dLogits else { continue }
            let g = dLogits + i * stride
            let w = scale * invN
            let invSum = Float(1 / sum)
            for v in 0..<classes { g[v] = Foundation.exp(row[v] - m) * invSum * w }
            g[target] -= w
        }
        return n > 0 ? Float(total / Double(n)) : 0
    }
}
