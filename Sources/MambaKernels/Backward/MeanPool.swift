/// Mean over the rows of a (rows, channels) block: the sequence pooling of a classifier head.
public enum MeanPool {
    /// y[c] = (1/rows) Σ_t x[t,c].  x: (rows, channels), y: (channels).
    public static func forward(x: UnsafePointer<Float>, rows: Int, channels: Int, y: UnsafeMutablePointer<Float>) {
        y.update(repeating: 0, count: channels)
        guard rows > 0 else { return }
        for t in 0..<rows { for c in 0..<channels { y[c] += x[t * channels + c] } }
        let inv = 1 / Float(rows)
        for c in 0..<channels { y[c] *= inv }
    }

    /// dx[t,c] = dy[c]/rows for every row (overwritten, or added to when `accumulate`).
    public static func backward(dy: UnsafePointer<Float>, rows: Int, channels: Int, dx: UnsafeMutablePointer<Float>,
                                accumulate: Bool = false) {
        guard rows > 0 else { return }
        let inv = 1 / Float(rows)
        for t in 0..<rows {
            for c in 0..<channels {
                let v = dy[c] * inv
                dx[t * channels + c] = accumulate ? dx[t * channels + c] + v : v
            }
        }
    }
}
