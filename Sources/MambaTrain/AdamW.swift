import Foundation

/// AdamW (PyTorch `torch.optim.AdamW`, amsgrad off) on fp32 master weights.
///
/// Per element, at step t = 1, 2, …, with learning rate η (from a schedule) and weight decay λ:
///   p ← p·(1 − η·λ)                      (decoupled decay; only for parameters with `decay`)
///   m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·g²
///   p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
public final class AdamW {
    public struct Config: Sendable, Equatable {
        public var beta1: Float
        public var beta2: Float
        public var eps: Float
        public var weightDecay: Float
        public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
            self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        }
    }

    public let config: Config
    /// Number of updates done so far (t of the last update).
    public private(set) var stepCount = 0
    /// First and second moments, by parameter name.
    public private(set) var moments: [String: (m: [Float], v: [Float])] = [:]

    public init(config: Config = Config()) { self.config = config }

    /// One update of every parameter from its `grad` (the gradients are left as they are).
    public func step(_ parameters: [Parameter], learningRate: Float) {
        stepCount += 1
        for p in parameters {
            var (m, v) = moments.removeValue(forKey: p.name)    // removed: keeps the arrays uniquely referenced
                ?? ([Float](repeating: 0, count: p.count), [Float](repeating: 0, count: p.count))
            precondition(m.count == p.count, "\(p.name): size changed between steps")
            let (t, config, count, decay) = (stepCount, config, p.count, p.decay)
            m.withUnsafeMutableBufferPointer { mb in
                v.withUnsafeMutableBufferPointer { vb in
                    Self.update(value: p.value.data, grad: p.grad.ptr, m: mb.baseAddress!, v: vb.baseAddress!,
                                count: count, decay: decay, learningRate: learningRate, step: t, config: config)
                }
            }
            moments[p.name] = (m, v)
        }
    }

    /// The update of one flat tensor at step `step` (≥ 1); m and v are its moment buffers.
    public static func update(value: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
                              m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
                              decay: Bool, learningRate: Float, step: Int, config: Config) {
        precondition(step >= 1)
        let (b1, b2) = (config.beta1, config.beta2)
        // Bias corrections in Float64: 1 − β₂ᵗ loses digits in fp32 for β₂ close to 1.
        let bc1 = 1 - Foundation.pow(Double(b1), Double(step))
        let bc2 = 1 - Foundation.pow(Double(b2), Double(step))
        let stepSize = Float(Double(learningRate) / bc1)
        let invSqrtBc2 = Float(1 / bc2.squareRoot())
        let shrink = decay ? 1 - learningRate * config.weightDecay : 1
        for i in 0..<count {
            let g = grad[i]
            let mi = b1 * m[i] + (1 - b1) * g
            let vi = b2 * v[i] + (1 - b2) * g * g
            m[i] = mi; v[i] = vi
            value[i] = value[i] * shrink - stepSize * mi / (vi.squareRoot() * invSqrtBc2 + config.eps)
        }
    }
}
