import MambaKernels

/// RMSNorm (mamba_ssm `RMSNorm`) or LayerNorm over the channel axis.
public struct NormLayer {
    public var kind: NormKind
    public var weight: Tensor   // (dim)
    public var bias: Tensor?    // (dim), LayerNorm only
    public var eps: Float
    public var dim: Int { weight.count }

    public init(kind: NormKind, weight: Tensor, bias: Tensor?, eps: Float) {
        self.kind = kind; self.weight = weight; self.bias = bias; self.eps = eps
    }

    public static func load(_ store: WeightStore, prefix: String, kind: NormKind, dim: Int, eps: Float) throws -> NormLayer {
        let w = try store.tensor(prefix + "weight", shape: [dim])
        let b = kind == .layer ? try store.tensor(prefix + "bias", shape: [dim]) : nil
        return NormLayer(kind: kind, weight: w, bias: b, eps: eps)
    }

    public func tensors(prefix: String) -> [(String, Tensor)] {
        [(prefix + "weight", weight)] + (bias.map { [(prefix + "bias", $0)] } ?? [])
    }

    /// The same norm applied to channel-reversed rows, reversed back: rc(norm(rc(x))) = norm'(x) with
    /// weight (and bias) reversed, since the statistics do not depend on channel order.
    public func channelReversed() -> NormLayer {
        func rev(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, values: t.array.reversed()) }
        return NormLayer(kind: kind, weight: rev(weight), bias: bias.map(rev), eps: eps)
    }

    /// y[r, :dim] = norm(x[r, :dim]), x and y row strides ldx / ldy; y may alias x.
    /// Long inputs split their rows over `threads` threads (rows are independent: same result).
    public func forward(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, y: UnsafeMutablePointer<Float>, ldy: Int,
                        threads: Int) {
        nonisolated(unsafe) let y = y
        Ops.parallelRows(rows, cols: dim, threads: threads) { rr in
            let n = rr.count, x = x + rr.lowerBound * ldx, y = y + rr.lowerBound * ldy
            if ldx == dim && ldy == dim {
                apply(x, y, n)
            } else {
                for r in 0..<n { apply(x + r * ldx, y + r * ldy, 1) }
            }
        }
    }

    private func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ rows: Int) {
        switch kind {
        case .rms: Norm.rmsNorm(x: x, weight: weight.ptr, eps: eps, y: y, rows: rows, channels: dim)
        case .layer: Norm.layerNorm(x: x, weight: weight.ptr, bias: bias?.ptr, eps: eps, y: y, rows: rows, channels: dim)
        }
    }
}
