/// Global-norm gradient clipping (PyTorch `clip_grad_norm_` with the 2-norm).
public enum GradientClipping {
    /// ‖g‖ over all parameters' gradients together, accumulated in Float64.
    public static func globalNorm(_ parameters: [Parameter]) -> Float {
        var ss = 0.0
        for p in parameters { for i in 0..<p.count { ss += Double(p.grad.data[i]) * Double(p.grad.data[i]) } }
        return Float(ss.squareRoot())
    }

    /// Scales every gradient by maxNorm / (‖g‖ + 1e-6) when that is below 1; returns ‖g‖ before clipping.
    /// A non-finite norm leaves the gradients untouched: the caller should skip that step.
    @discardableResult
    public static func clipGlobalNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
        let norm = globalNorm(parameters)
        guard norm.isFinite else { return norm }
        let coef = maxNorm / (norm + 1e-6)
        if coef < 1 {
            for p in parameters {
                for i in 0..<p.count { p.grad.data[i] *= coef }
            }
        }
        return norm
    }
}
