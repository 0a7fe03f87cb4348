import Foundation

/// Pointwise activations. Plain versions are the definition; callers on hot paths
/// use the SIMD versions in `FastMath`.
public enum Activation {
    /// SiLU(x) = x · σ(x).
    @inlinable public static func silu(_ x: Float) -> Float { x / (1 + Foundation.exp(-x)) }

    /// PyTorch `F.softplus` with beta 1 and threshold 20: x when x > 20, else log(1 + eᕽ).
    @inlinable public static func softplus(_ x: Float) -> Float {
        x > 20 ? x : Foundation.log1p(Foundation.exp(x))
    }

    /// In-place SiLU over `count` values.
    public static func siluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = silu(x[i]) }
    }
}
