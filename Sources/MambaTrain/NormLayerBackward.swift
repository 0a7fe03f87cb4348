import MambaModel

extension NormLayer {
    /// Backward of `forward` over contiguous (rows, dim) buffers: dx (overwritten, or added to when
    /// `accumulate`), and the weight (and LayerNorm bias) gradients added into `grads`.
    func backward(x: UnsafePointer<Float>, rows: Int, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                  accumulate: Bool, grads: ParameterSet) {
        switch kind {
        case .rms:
            NormBackward.rmsNorm(x: x, weight: weight.ptr, eps: eps, dy: dy, dx: dx, dWeight: grads.grad(weight),
                                 rows: rows, channels: dim, accumulate: accumulate)
        case .layer:
            NormBackward.layerNorm(x: x, weight: weight.ptr, eps: eps, dy: dy, dx: dx, dWeight: grads.grad(weight),
                                   dBias: bias.map { grads.grad($0) }, rows: rows, channels: dim,
                                   accumulate: accumulate)
        }
    }
}
