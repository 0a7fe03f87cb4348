import Foundation

/// SplitMix64: expands one 64-bit seed into well-mixed words (used to seed xoshiro).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256**: the deterministic generator for weight init, masking and shuffling. The same seed gives
/// the same stream on every platform and Swift version (unlike `SystemRandomNumberGenerator`, and unlike
/// the standard library's `shuffle(using:)`, whose algorithm is not specified, hence `shuffle` below).
public struct RandomSource: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s = (sm.next(), sm.next(), sm.next(), sm.next())
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = Self.rotl(s.3, 45)
        return result
    }

    /// An independent generator (for a worker or a sub-task), seeded from this stream.
    public mutating func fork() -> RandomSource { RandomSource(seed: next()) }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform integer in 0..<bound, unbiased (Lemire's multiply-shift with rejection).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        var product = next().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold { product = next().multipliedFullWidth(by: b) }
        }
        return Int(product.high)
    }

    /// Normal(mean, std) by Box–Muller (one draw per call; Float64 internally).
    public mutating func nextNormal(mean: Float = 0, std: Float = 1) -> Float {
        let u1 = 1 - nextDouble()            // (0, 1]: log is finite
        let u2 = nextDouble()
        let r = (-2 * Foundation.log(u1)).squareRoot()
        return mean + std * Float(r * Foundation.cos(2 * Double.pi * u2))
    }

    /// Fisher–Yates shuffle with this generator.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }

    /// Fills with Normal(mean, std).
    public mutating func fillNormal(_ buffer: inout [Float], mean: Float = 0, std: Float) {
        for i in buffer.indices { buffer[i] = nextNormal(mean: mean, std: std) }
    }

    /// Fills with Uniform[low, high).
    public mutating func fillUniform(_ buffer: inout [Float], low: Float, high: Float) {
        for i in buffer.indices { buffer[i] = low + (high - low) * nextFloat() }
    }
}
