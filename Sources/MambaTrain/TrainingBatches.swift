import MambaModel

/// One labelled training sequence (token ids of the DNA tokenizer).
public struct LabelledSequence: Sendable {
    public var tokens: [Int32]
    public var label: Int
    public init(tokens: [Int32], label: Int) { self.tokens = tokens; self.label = label }
}

/// The deterministic order of training: epoch e visits the sequences in a permutation drawn from
/// (seed, e), packed greedily into batches of at most `batchTokens` rows (at least one sequence each).
/// Everything is a function of (seed, epoch, step), so a resumed run sees the same batches.
struct TrainingBatches {
    let lengths: [Int]       // per sequence, after cropping to maxLength
    let batchTokens: Int
    let seed: UInt64
    private var cachedEpoch = -1
    private var cached: [[Int]] = []

    init(lengths: [Int], batchTokens: Int, seed: UInt64) {
        self.lengths = lengths; self.batchTokens = batchTokens; self.seed = seed
    }

    /// Batches of epoch e, each a list of sequence indices.
    mutating func batches(epoch e: Int) -> [[Int]] {
        if e == cachedEpoch { return cached }
        var order = Array(lengths.indices)
        var rng = RandomSource(seed: mix(seed, 0x5EED_0000 &+ UInt64(e)))
        rng.shuffle(&order)
        var out: [[Int]] = [], cur: [Int] = [], tokens = 0
        for i in order {
            if !cur.isEmpty && tokens + lengths[i] > batchTokens { out.append(cur); cur = []; tokens = 0 }
            cur.append(i); tokens += lengths[i]
        }
        if !cur.isEmpty { out.append(cur) }
        cachedEpoch = e; cached = out
        return out
    }

    /// (epoch, batch index) of global step s.
    mutating func position(ofStep s: Int) -> (epoch: Int, batch: Int) {
        var e = 0, first = 0
        while true {
            let n = batches(epoch: e).count
            if s < first + n { return (e, s - first) }
            first += n; e += 1
        }
    }
}

/// A 64-bit hash of two words (SplitMix64 finaliser), for per-step and per-epoch seeds.
func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var g = SplitMix64(seed: a ^ (b &* 0x9E37_79B9_7F4A_7C15))
    return g.next()
}
