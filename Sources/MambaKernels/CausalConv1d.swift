/// Causal depthwise 1-D convolution, time-major: x and y are (length, channels).
///
/// PyTorch `nn.Conv1d(C, C, K, groups: C, padding: K-1)` followed by `[..., :L]`:
/// y[t,c] = bias[c] + Σ_{j<K} weight[c,j] · x[t − (K−1) + j, c], with x[<0] taken from `history`
/// (the K−1 rows before t = 0; zeros when nil). Weight layout is PyTorch's (C, 1, K) = (C, K).
public enum CausalConv1d {
    /// Plain reference version. `history`: (K−1, channels) or nil.
    public static func forwardReference(x: UnsafePointer<Float>, length: Int, channels: Int,
                                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, kernelSize: Int,
                                        history: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        let k = kernelSize
        for t in 0..<length {
            for c in 0..<channels {
                var acc = bias?[c] ?? 0
                for j in 0..<k {
                    let s = t - (k - 1) + j
                    let v: Float
                    if s >= 0 { v = x[s * channels + c] }
                    else if let history { v = history[(k - 1 + s) * channels + c] } else { v = 0 }
                    acc += weight[c * k + j] * v
                }
                y[t * channels + c] = acc
            }
        }
    }
}
