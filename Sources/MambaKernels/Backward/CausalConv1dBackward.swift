/// Backward pass of `CausalConv1d` (time-major; same contract as `CausalConv1d.forwardReference`).
///
/// Forward: y[t,c] = bias[c] + Σ_{j<K} weight[c,j]·x̃[t−(K−1)+j, c], where x̃ is x, the `history` rows for
/// negative times, and zero for times before the latest reset (and for negative times after any reset).
/// Backward: every tap that read x̃[s,c] sends weight[c,j]·dy[t,c] back to it, and x̃[s,c]·dy[t,c] to weight[c,j].
public enum CausalConv1dBackward {
    /// Shapes: x, dy, dx: (length, channels); weight, dWeight: (channels, K); bias, dBias: (channels);
    /// history, dHistory: (K−1, channels).
    /// dx and dHistory are overwritten; dWeight and dBias are accumulated (+=).
    public static func backwardReference(x: UnsafePointer<Float>, length: Int, channels: Int,
                                         weight: UnsafePointer<Float>, kernelSize: Int,
                                         history: UnsafePointer<Float>?, dy: UnsafePointer<Float>,
                                         dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>?,
                                         dBias: UnsafeMutablePointer<Float>?,
                                         dHistory: UnsafeMutablePointer<Float>? = nil,
                                         resetBefore: UnsafePointer<UInt8>? = nil) {
        let k = kernelSize
        dx?.update(repeating: 0, count: length * channels)
        dHistory?.update(repeating: 0, count: max(0, k - 1) * channels)
        var start = Int.min   // first row of the current packed sequence, as in the forward
        for t in 0..<length {
            if let resetBefore, resetBefore[t] != 0 { start = t }
            for c in 0..<channels {
                let g = dy[t * channels + c]
                dBias?[c] += g
                for j in 0..<k {
                    let s = t - (k - 1) + j
                    let w = weight[c * k + j]
                    if s < start && start != Int.min { continue }      // read a zero: no gradient
                    if s >= 0 {
                        dx?[s * channels + c] += w * g
                        dWeight?[c * k + j] += x[s * channels + c] * g
                    } else if let history {
                        let r = (k - 1 + s) * channels + c
                        dHistory?[r] += w * g
                        dWeight?[c * k + j] += history[r] * g
                    }
                }
            }
        }
    }
}
