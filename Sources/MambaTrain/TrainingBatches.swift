import MambaModel

/// One labelled training sequence (token ids of the DNA tokenizer).
public struct LabelledSequence: Sendable {
    public var tokens: [Int32]
    public var label: Int
    public init(tokens: [Int32], label: Int) { self.tokens = tokens; self.label = label }
}

/// The deterministic order of training, a function of (seed, epoch) only, so a resumed run sees the same batches.
/// `.packed`: epoch e visits the sequences in a permutation drawn from (seed, e), packed greedily into batches
/// of at most `batchTokens` rows (at least one sequence each). `.reshuffled`: one SplitMix64 stream from the
/// seed shuffles the previous epoch's order again each epoch (Fisher–Yates), cut into batches of `batchTokens`
/// sequences of one row each — the order of the dense heads' feature rows.
struct TrainingBatches {
    enum Order { case packed, reshuffled }
    let lengths: [Int]       // per sequence, after cropping to maxLength
    let batchTokens: Int
    let seed: UInt64
    let order: Order
    private var cachedEpoch = -1
    private var cached: [[Int]] = []
    private var reshuffledOrder: [Int] = []
    private var reshuffleRNG: SplitMix64

    init(lengths: [Int], batchTokens: Int, seed: UInt64, order: Order = .packed) {
        precondition(!lengths.isEmpty, "no training sequences")
        self.lengths = lengths; self.batchTokens = batchTokens; self.seed = seed; self.order = order
        reshuffleRNG = SplitMix64(seed: seed)
    }

    /// Batches of epoch e, each a list of sequence indices.
    mutating func batches(epoch e: Int) -> [[Int]] {
        if e == cachedEpoch { return cached }
        let out: [[Int]]
        switch order {
        case .packed:
            var order = Array(lengths.indices)
            var rng = RandomSource(seed: mix(seed, 0x5EED_0000 &+ UInt64(e)))
            rng.shuffle(&order)
            var packed: [[Int]] = [], cur: [Int] = [], tokens = 0
            for i in order {
                if !cur.isEmpty && tokens + lengths[i] > batchTokens { packed.append(cur); cur = []; tokens = 0 }
                cur.append(i); tokens += lengths[i]
            }
            if !cur.isEmpty { packed.append(cur) }
            out = packed
        case .reshuffled:
            if e < cachedEpoch || cachedEpoch < 0 {
                reshuffledOrder = Array(lengths.indices); reshuffleRNG = SplitMix64(seed: seed); cachedEpoch = -1
            }
            while cachedEpoch < e {
                for i in stride(from: reshuffledOrder.count - 1, to: 0, by: -1) {
                    reshuffledOrder.swapAt(i, Int(reshuffleRNG.next() % UInt64(i + 1)))
                }
                cachedEpoch += 1
            }
            let size = Swift.max(1, batchTokens)
            out = stride(from: 0, to: reshuffledOrder.count, by: size).map {
                Array(reshuffledOrder[$0..<Swift.min(reshuffledOrder.count, $0 + size)])
            }
        }
        cachedEpoch = e; cached = out
        return out
    }

    /// (epoch, batch index) of global step s.
    mutating func position(ofStep s: Int) -> (epoch: Int, batch: Int) {
        if order == .reshuffled {   // every epoch has the same number of batches
            let perEpoch = (lengths.count + Swift.max(1, batchTokens) - 1) / Swift.max(1, batchTokens)
            return (s / perEpoch, s % perEpoch)
        }
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
