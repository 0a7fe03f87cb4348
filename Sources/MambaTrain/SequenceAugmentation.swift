import MambaModel

/// Training-time noise on the bases, like sequencing errors and strain variation: each base of a training
/// window is replaced by a different random base with probability `substitutionRate`; with `indelRate`,
/// each position gets a one-base insertion (probability `indelRate`/2) or deletion (`indelRate`/2) while
/// the window is read from its sequence. N and other non-ACGT tokens are never substituted. A, C, G, T are
/// consecutive token ids (7 to 10).
public struct SequenceAugmentation: Sendable {
    public var substitutionRate: Double
    public var indelRate: Double
    public init(substitutionRate: Double = 0, indelRate: Double = 0) {
        self.substitutionRate = substitutionRate; self.indelRate = indelRate
    }

    public var isIdentity: Bool { substitutionRate <= 0 && indelRate <= 0 }

    /// At most `length` tokens read from `tokens` at `start`, with random insertions and deletions; never empty.
    public func window(of tokens: [Int32], start: Int, length: Int, rng: inout RandomSource) -> [Int32] {
        guard indelRate > 0 else { return Array(tokens[start..<min(tokens.count, start + length)]) }
        var out: [Int32] = []
        out.reserveCapacity(length)
        var i = start
        while out.count < length && i < tokens.count {
            let u = rng.nextDouble()
            if u < indelRate / 2 {
                out.append(DNATokenizer.a + Int32(rng.nextInt(below: 4)))
            } else if u < indelRate {
                i += 1
            } else {
                out.append(tokens[i]); i += 1
            }
        }
        if out.isEmpty { out.append(tokens[start]) }
        return out
    }

    /// Replaces each A/C/G/T token by one of the three other bases with probability `substitutionRate`.
    public func substitute(_ tokens: inout [Int32], rng: inout RandomSource) {
        guard substitutionRate > 0 else { return }
        for k in tokens.indices {
            let b = tokens[k] - DNATokenizer.a
            guard b >= 0 && b < 4, rng.nextDouble() < substitutionRate else { continue }
            tokens[k] = DNATokenizer.a + (b + 1 + Int32(rng.nextInt(below: 3))) % 4
        }
    }
}
