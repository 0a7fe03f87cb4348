import Foundation
#if !KERNELS_AVX512
internal import MambaKernelsAVX512
#endif

/// Row-wise normalisations over the channel axis of a (rows, channels) buffer.
public enum Norm {
    /// RMSNorm (mamba_ssm `rms_norm_ref`): y = x / sqrt(mean(x²) + eps) · weight. y may alias x.
    /// Plain reference version.
    public static func rmsNormReference(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float,
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
    /// Plain reference version.
    public static func layerNormReference(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 eps: Float, y: UnsafeMutablePointer<Float>, rows: Int, channels: Int) {
        #if !KERNELS_AVX512
        if KernelISA.useAVX512 {
            MambaKernelsAVX512.Norm.layerNorm(x: x, weight: weight, bias: bias, eps: eps, y: y, rows: rows, channels: channels)
            return
        }
        #endif
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

    /// Sum of a row, two SIMD16 accumulators (the adds of one accumulator form a latency chain).
    @inline(__always)
    static func rowSum(_ x: UnsafePointer<Float>, _ count: Int, _ f: (SIMD16<Float>) -> SIMD16<Float>) -> Float {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
        var c = 0
        while c + 32 <= count {
            a0 += f(FastMath.load(x + c, lanes: 16))
            a1 += f(FastMath.load(x + c + 16, lanes: 16))
            c += 32
        }
        while c < count {
            let lanes = Swift.min(16, count - c)
            var m = f(FastMath.load(x + c, lanes: lanes))
            // Padding lanes hold f(0), which is not 0 for (x − mean)².
            for l in lanes..<16 { m[l] = 0 }
            a0 += m
            c += 16
        }
        return (a0 + a1).sum()
    }

    /// RMSNorm, SIMD16 across channels (same contract as `rmsNormReference`).
    public static func rmsNorm(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float,
                               y: UnsafeMutablePointer<Float>, rows: Int, channels: Int) {
        #if !KERNELS_AVX512
        if KernelISA.useAVX512 {
            MambaKernelsAVX512.Norm.rmsNorm(x: x, weight: weight, eps: eps, y: y, rows: rows, channels: channels)
            return
        }
        #endif
        for r in 0..<rows {
            let xr = x + r * channels, yr = y + r * channels
            let ss = rowSum(xr, channels) { $0 * $0 }
            let inv = SIMD16<Float>(repeating: 1 / (ss / Float(channels) + eps).squareRoot())
            var c = 0
            while c < channels {
                let lanes = Swift.min(16, channels - c)
                FastMath.store(FastMath.load(xr + c, lanes: lanes) * inv * FastMath.load(weight + c, lanes: lanes),
                               yr + c, lanes: lanes)
                c += 16
            }
        }
    }

    /// LayerNorm, SIMD16 across channels (same contract as `layerNormReference`; two passes over the
    /// row for mean and variance, as in the reference, rather than the cancellation-prone E[x²] − E[x]²).
    public static func layerNorm(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 eps: Float, y: UnsafeMutablePointer<Float>, rows: Int, channels: Int) {
        for r in 0..<rows {
            let xr = x + r * channels, yr = y + r * channels
            let mean = rowSum(xr, channels) { $0 } / Float(channels)
            let mv = SIMD16<Float>(repeating: mean)
            let v = rowSum(xr, channels) { ($0 - mv) * ($0 - mv) }
            let inv = SIMD16<Float>(repeating: 1 / (v / Float(channels) + eps).squareRoot())
            var c = 0
            while c < channels {
                let lanes = Swift.min(16, channels - c)
                let xn = (FastMath.load(xr + c, lanes: lanes) - mv) * inv
                let b = bias.map { FastMath.load($0 + c, lanes: lanes) } ?? SIMD16<Float>()
                FastMath.store(b.addingProduct(xn, FastMath.load(weight + c, lanes: lanes)), yr + c, lanes: lanes)
                c += 16
            }
        }
    }
}
