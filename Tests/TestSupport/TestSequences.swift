/// Seeded DNA test data shared by the test targets.

/// A small seeded generator for test data (SplitMix64).
public struct SystemRandomNumberGeneratorSeeded {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

public enum TestSequences {
    /// `n` letters drawn uniformly from `alphabet`.
    public static func random(_ n: Int, seed: UInt64, alphabet: [Character] = ["A", "C", "G", "T"]) -> String {
        var g = SystemRandomNumberGeneratorSeeded(seed: seed)
        return String((0..<n).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] })
    }

    /// Reverse complement of A/C/G/T in either case; other letters are kept.
    public static func reverseComplement(_ s: String) -> String {
        String(s.reversed().map { c -> Character in
            switch c { case "A": return "T"; case "T": return "A"; case "C": return "G"; case "G": return "C"
            case "a": return "t"; case "t": return "a"; case "c": return "g"; case "g": return "c"; default: return c }
        })
    }
}
