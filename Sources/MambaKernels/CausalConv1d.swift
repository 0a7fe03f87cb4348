/// Causal depthwise 1-D convolution, time-major: x and y are (length, channels).
///
/// PyTorch `nn.Conv1d(C, C, K, groups: C, padding: K-1)` followed by `[..., :L]`:
/// y[t,c] = bias[c] + Σ_{j<K} weight[c,j] · x[t − (K−1) + j, c], with x[<0] taken from `history`
/// (the K−1 rows before t = 0; zeros when nil). Weight layout is PyTorch's (C, 1, K) = (C, K).
/// Packed batches: where `resetBefore[t] != 0` a new sequence starts at t, and rows before t count as zeros.
public enum CausalConv1d {
    /// Plain reference version. `history`: (K−1, channels) or nil.
    public static func forwardReference(x: UnsafePointer<Float>, length: Int, channels: Int,
                                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, kernelSize: Int,
                                        history: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                        resetBefore: UnsafePointer<UInt8>? = nil) {
        let k = kernelSize
        var start = Int.min  // first row of the current packed sequence (history usable only if none)
        for t in 0..<length {
            if let resetBefore, resetBefore[t] != 0 { start = t }
            for c in 0..<channels {
                var acc = bias?[c] ?? 0
                for j in 0..<k {
                    let s = t - (k - 1) + j
                    let v: Float
                    if s < start && start != Int.min { v = 0 }
                    else if s >= 0 { v = x[s * channels + c] }
                    else if let history { v = history[(k - 1 + s) * channels + c] } else { v = 0 }
                    acc += weight[c * k + j] * v
                }
                y[t * channels + c] = acc
            }
        }
    }

    /// Fast version (same contract as `forwardReference`).
    public static func forward(x: UnsafePointer<Float>, length: Int, channels: Int,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, kernelSize: Int,
                               history: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                               resetBefore: UnsafePointer<UInt8>? = nil) {
        forwardReference(x: x, length: length, channels: channels, weight: weight, bias: bias, kernelSize: kernelSize,
                         history: history, y: y, resetBefore: resetBefore)
    }
}
