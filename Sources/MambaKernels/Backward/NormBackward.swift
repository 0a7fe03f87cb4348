/// Backward passes of the row-wise normalisations in `Norm`; x, dy, dx: (rows, channels), weight: (channels).
/// Row statistics are recomputed from x (cheap, and nothing has to be kept from the forward).
public enum NormBackward {
    /// RMSNorm, y = x·r·w with r = (mean(x²) + eps)^(−1/2):
    ///   dx = r·(dy∘w) − x·r³·mean(dy∘w∘x),   dWeight[c] += Σ_rows dy·x·r.
    /// dx is overwritten, or added to when `accumulate` (a residual stream that already holds a gradient).
    /// dx must not alias x or dy.
    public static func rmsNorm(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float,
                               dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                               dWeight: UnsafeMutablePointer<Float>?, rows: Int, channels: Int,
                               accumulate: Bool = false) {
        let inv = 1 / Float(channels)
        for row in 0..<rows {
            let xr = x + row * channels, gr = dy + row * channels
            var ss: Float = 0
            for c in 0..<channels { ss += xr[c] * xr[c] }
            let r = 1 / (ss * inv + eps).squareRoot()
            var dot: Float = 0                                   // Σ dy∘w∘x
            for c in 0..<channels {
                dot += gr[c] * weight[c] * xr[c]
                dWeight?[c] += gr[c] * xr[c] * r
            }
            guard let dx else { continue }
            let k = r * r * r * dot * inv
            let out = dx + row * channels
            for c in 0..<channels {
                let v = r * gr[c] * weight[c] - xr[c] * k
                out[c] = accumulate ? out[c] + v : v
            }
        }
    }

    /// LayerNorm (biased variance), x̂ = (x − mean)·r, y = x̂·w + b:
    ///   dx = r·(ĝ − mean(ĝ) − x̂·mean(ĝ∘x̂)) with ĝ = dy∘w,   dWeight += Σ_rows dy·x̂,   dBias += Σ_rows dy.
    /// dx is overwritten, or added to when `accumulate`. dx must not alias x or dy.
    public static func layerNorm(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float,
                                 dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                                 dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
                                 rows: Int, channels: Int, accumulate: Bool = false) {
        let inv = 1 / Float(channels)
        for row in 0..<rows {
            let xr = x + row * channels, gr = dy + row * channels
            var mean: Float = 0
            for c in 0..<channels { mean += xr[c] }
            mean *= inv
            var v: Float = 0
            for c in 0..<channels { let e = xr[c] - mean; v += e * e }
            let r = 1 / (v * inv + eps).squareRoot()
            var sumG: Float = 0, sumGX: Float = 0
            for c in 0..<channels {
                let xh = (xr[c] - mean) * r
                let g = gr[c] * weight[c]
                sumG += g
                sumGX += g * xh
                dWeight?[c] += gr[c] * xh
                dBias?[c] += gr[c]
            }
            guard let dx else { continue }
            let mG = sumG * inv, mGX = sumGX * inv
            let out = dx + row * channels
            for c in 0..<channels {
                let xh = (xr[c] - mean) * r
                let val = r * (gr[c] * weight[c] - mG - xh * mGX)
                out[c] = accumulate ? out[c] + val : val
            }
        }
    }
}
