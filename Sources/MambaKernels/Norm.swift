import Foundation

/// Row-wise normalisations over the channel axis of a (rows, channels) buffer.
public enum Norm {
    /// RMSNorm (mamba_ssm `rms_norm_ref`): y = x / sqrt(mean(x²) + eps) · weight. y may alias x.
    public static func rmsNorm(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float,
                               y: UnsafeMutablePointer<Float>, rows: Int, channels: Int) {
        for r in 0..<rows {
            let xr = x + r * channels, yr = y + r * channels
            var ss: Float = 0
            for c in 0..<channels { ss += xr[c] * xr[c] }
            let inv = 1 / (ss / Float(channels) + eps).squareRoot()
            for c in 0..<channels { yr[c] = xr[c] * inv * weight[c] }
        }
    }

    /// LayerNorm (biased variance): y = (x − mean) / sqrt(var + eps) · weight (+ bias). y may alias x.
    public static func layerNorm(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 eps: Float, y: UnsafeMutablePointer<Float>, rows: Int, channels: Int) {
        for r in 0..<rows {
            let xr = x + r * channels, yr = y + r * channels
            var mean: Float = 0
            for c in 0..<channels { mean += xr[c] }
            mean /= Float(channels)
            var v: Float = 0
            for c in 0..<channels { let d = xr[c] - mean; v += d * d }
            let inv = 1 / (v / Float(channels) + eps).squareRoot()
            for c in 0..<channels { yr[c] = (xr[c] - mean) * inv * weight[c] + (bias?[c] ?? 0) }
        }
    }
}
