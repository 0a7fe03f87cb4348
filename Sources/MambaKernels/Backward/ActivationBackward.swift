import Foundation

/// Derivatives of the pointwise activations in `Activation`.
public enum ActivationBackward {
    /// d SiLU(x)/dx = σ(x)·(1 + x·(1 − σ(x))).
    @inlinable public static func siluDerivative(_ x: Float) -> Float {
        let s = 1 / (1 + Foundation.exp(-x))
        return s * (1 + x * (1 - s))
    }

    /// d softplus(x)/dx with PyTorch's threshold: 1 when x > 20 (where the forward is the identity), else σ(x).
    @inlinable public static func softplusDerivative(_ x: Float) -> Float {
        x > 20 ? 1 : 1 / (1 + Foundation.exp(-x))
    }

    /// dx[i] = dy[i]·SiLU′(x[i]) over `count` values (x is the forward input). dx may alias dy.
    public static func silu(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                            count: Int) {
        for i in 0..<count { dx[i] = dy[i] * siluDerivative(x[i]) }
    }

    /// dx[i] = dy[i]·softplus′(x[i]) over `count` values (x is the forward input). dx may alias dy.
    public static func softplus(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                count: Int) {
        for i in 0..<count { dx[i] = dy[i] * softplusDerivative(x[i]) }
    }

    /// Gated product out = x·SiLU(g) (Mamba's `y * silu(z)`): dx = dOut·SiLU(g), dg = dOut·x·SiLU′(g).
    /// All buffers have `count` values; dx and dg are overwritten.
    public static func siluGate(x: UnsafePointer<Float>, gate: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                                dx: UnsafeMutablePointer<Float>, dGate: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate[i]
            let dOutI = dOut[i]
            dGate[i] = dOutI * x[i] * siluDerivative(g)
            dx[i] = dOutI * Activation.silu(g)
        }
    }
}
