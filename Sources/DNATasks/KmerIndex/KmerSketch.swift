import Foundation
import MambaModel

/// An exact k-mer memory of each class's training reads (Kraken-style exact matching on a FracMinHash sample),
/// consulted before the Mamba classifier: a read whose sampled k-mers clearly point at one class is decided here.
///
/// K-mers: bases A=0, C=1, G=2, T=3 (either case), 2 bits each, k ≤ 31; any other byte (N, IUPAC codes, gaps)
/// breaks the k-mer. A k-mer and its reverse complement are one canonical k-mer, the smaller packed value, so a
/// read and its reverse complement look the same. The hash is MurmurHash3's 64-bit finalizer (fmix64) of the
/// canonical value; a k-mer is sampled when hash % scaled == 0 (about one in `scaled`), and each class keeps the
/// 32-bit fingerprints (hash >> 32) of the sampled k-mers seen at least `minCount` times in its training reads.
public struct KmerSketch: Sendable {
    /// The file inside a classifier model directory.
    public static let fileName = "kmer_sketch.safetensors"

    public struct Parameters: Sendable, Equatable {
        public var k = 21
        public var scaled = 16
        /// Occurrences in a class's training reads for a sampled k-mer to be kept (drops sequencing errors).
        public var minCount = 2
        /// Hits the winning class needs to decide a read.
        public var minHits = 2
        /// The winning class needs at least this many times the hits of the runner-up.
        public var dominance = 4.0
        public init() {}

        /// The first out-of-range setting, as the `train` option that sets it; nil when all are valid.
        public var problem: String? {
            if !(1...31).contains(k) { return "--sketch-k must be in 1...31 (got \(k))" }
            if scaled < 1 { return "--sketch-scaled must be at least 1 (got \(scaled))" }
            if minCount < 1 { return "--sketch-min-count must be at least 1 (got \(minCount))" }
            if minHits < 1 { return "--sketch-min-hits must be at least 1 (got \(minHits))" }
            if !(dominance >= 1) || !dominance.isFinite { return "--sketch-dominance must be at least 1 (got \(dominance))" }
            return nil
        }
    }

    public let parameters: Parameters
    /// Class names in index order: those of the classifier the sketch belongs to.
    public let labels: [String]
    /// Training reads the sketch was built from.
    public let reads: Int
    /// Every class's sorted, unique fingerprints back to back; class c owns `starts[c]..<starts[c + 1]`.
    let fingerprints: [UInt32]
    let starts: [Int]

    /// `sets[c]` must be sorted and free of duplicates (one set per label).
    public init(parameters: Parameters, labels: [String], sets: [[UInt32]], reads: Int) {
        precondition(sets.count == labels.count, "one fingerprint set per class")
        precondition(parameters.problem == nil, parameters.problem ?? "")
        self.parameters = parameters
        self.labels = labels
        self.reads = reads
        fingerprints = sets.flatMap { $0 }
        starts = sets.reduce(into: [0]) { $0.append($0.last! + $1.count) }
    }

    public var classCount: Int { labels.count }

    /// Class `c`'s fingerprints, sorted ascending.
    public func fingerprints(ofClass c: Int) -> ArraySlice<UInt32> { fingerprints[starts[c]..<starts[c + 1]] }

    /// Per class, how many of the read's sampled k-mer positions it holds (a position counts once for each
    /// class that holds its k-mer). `bases` are raw sequence bytes; the reverse complement gives the same counts.
    public func hits(_ bases: [UInt8]) -> [Int] {
        var counts = [Int32](repeating: 0, count: classCount)
        bases.withUnsafeBufferPointer { b in counts.withUnsafeMutableBufferPointer { addHits(b, to: $0.baseAddress!) } }
        return counts.map(Int.init)
    }

    public func hits(_ bases: String) -> [Int] { hits(Array(bases.utf8)) }

    /// The hits of many reads, `reads.count × classCount` row-major (read i's counts at `i * classCount`),
    /// computed on up to `threads` threads over contiguous chunks of the reads; the same for any thread count.
    public func hits(_ reads: [[UInt8]], threads: Int) -> [Int32] {
        let classes = classCount
        var counts = [Int32](repeating: 0, count: reads.count * classes)
        counts.withUnsafeMutableBufferPointer { out in
            let out = out
            // A few hundred reads per slice at least: smaller ones cost more to hand out than to count.
            Parallel.rowSlices(reads.count, threads: threads, minRows: 256) { range in
                for i in range {
                    reads[i].withUnsafeBufferPointer { addHits($0, to: out.baseAddress! + i * classes) }
                }
            }
        }
        return counts
    }

    /// Adds the read's hits to `counts[0..<classCount]` (caller-owned, no allocation here).
    func addHits(_ bases: UnsafeBufferPointer<UInt8>, to counts: UnsafeMutablePointer<Int32>) {
        let classes = classCount
        fingerprints.withUnsafeBufferPointer { all in
            starts.withUnsafeBufferPointer { starts in
                KmerHash.forEachSampledHash(bases, k: parameters.k, scaled: parameters.scaled) { hash in
                    let f = KmerHash.fingerprint(hash)
                    for c in 0..<classes where Self.contains(all, starts[c], starts[c + 1], f) { counts[c] += 1 }
                }
            }
        }
    }

    /// Binary search for `f` in the sorted `set[lo..<hi]`.
    @inline(__always)
    static func contains(_ set: UnsafeBufferPointer<UInt32>, _ lo: Int, _ end: Int, _ f: UInt32) -> Bool {
        var lo = lo, hi = end
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if set[mid] < f { lo = mid &+ 1 } else { hi = mid }
        }
        return lo < end && set[lo] == f
    }

    /// The class with the most hits when it has at least `minHits` and at least `dominance` times the runner-up's
    /// count (0 when no other class has hits); nil otherwise, a tie for the top included (the model decides).
    public func decide<H: Collection>(_ hits: H) -> Int? where H.Element: BinaryInteger {
        Self.decide(hits, minHits: parameters.minHits, dominance: parameters.dominance)
    }

    static func decide<H: Collection>(_ hits: H, minHits: Int, dominance: Double) -> Int? where H.Element: BinaryInteger {
        var best = -1, top = 0, second = 0
        for (c, h) in hits.enumerated() {
            let n = Int(h)
            if best < 0 || n > top { second = max(second, top); best = c; top = n }
            else { second = max(second, n) }
        }
        guard best >= 0, top >= minHits, top > second, Double(top) >= dominance * Double(second) else { return nil }
        return best
    }
}

/// The k-mer encoding and hash the sketch is defined by (see `KmerSketch`).
enum KmerHash {
    /// Base byte → 2-bit code; 4 for every byte that is not A, C, G or T in either case.
    static let codes: [UInt8] = {
        var t = [UInt8](repeating: 4, count: 256)
        for (i, b) in "ACGT".utf8.enumerated() { t[Int(b)] = UInt8(i); t[Int(b | 0x20)] = UInt8(i) }
        return t
    }()

    /// MurmurHash3's 64-bit finalizer: a bijection on UInt64 that mixes every input bit into every output bit.
    @inline(__always)
    static func fmix64(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x &*= 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x
    }

    @inline(__always)
    static func fingerprint(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash >> 32) }

    /// Calls `body(hash)` for each sampled canonical k-mer of `bases`, in read order (k in 1...31, scaled ≥ 1).
    /// The forward and reverse-complement values are rolled one base at a time; a non-ACGT byte restarts both.
    @inline(__always)
    static func forEachSampledHash(_ bases: UnsafeBufferPointer<UInt8>, k: Int, scaled: Int, _ body: (UInt64) -> Void) {
        let mask: UInt64 = (1 << UInt64(2 * k)) - 1
        let topShift = UInt64(2 * (k - 1))
        let modulus = UInt64(scaled)
        codes.withUnsafeBufferPointer { codes in
            var forward: UInt64 = 0, reverse: UInt64 = 0, length = 0
            for b in bases {
                let c = codes[Int(b)]
                if c > 3 { length = 0; forward = 0; reverse = 0; continue }
                forward = ((forward << 2) | UInt64(c)) & mask
                reverse = (reverse >> 2) | (UInt64(3 - c) << topShift)
                length += 1
                if length < k { continue }
                let hash = fmix64(min(forward, reverse))
                if modulus == 1 || hash % modulus == 0 { body(hash) }
            }
        }
    }
}
