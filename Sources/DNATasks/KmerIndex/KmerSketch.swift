import Foundation
import MambaModel

/// The sketch mode of `KmerIndex`: an exact k-mer memory of each class's training reads (Kraken-style exact matching
/// on a FracMinHash sample), consulted before the Mamba classifier: a read whose sampled k-mers clearly point at one
/// class is decided here.
///
/// K-mers: as `KmerCode` encodes them, k ≤ 31. A k-mer and its reverse complement are one canonical k-mer, the
/// smaller packed value, so a read and its reverse complement look the same. The hash is MurmurHash3's 64-bit
/// finalizer (fmix64) of the canonical value; a k-mer is sampled when hash % scaled == 0 (about one in `scaled`), and
/// each class keeps the 32-bit fingerprints (hash >> 32) of the sampled k-mers seen at least `minCount` times in its
/// training reads: the index's words.
public struct KmerSketch: Sendable {
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

    /// The index it scores with (sketch mode).
    public let index: KmerIndex
    public let parameters: Parameters

    /// `index` must be a sketch.
    public init(_ index: KmerIndex) {
        guard case .sketch(let p) = index.parameters else { preconditionFailure("a sketch needs a sketch-mode index") }
        self.index = index
        parameters = p
    }

    /// The sketch of the fingerprint sets `sets[c]`, each sorted and free of duplicates (one set per label).
    public init(parameters: Parameters, labels: [String], sets: [[UInt32]], reads: Int) {
        self.init(KmerIndex(parameters: .sketch(parameters), labels: labels, words: sets, reads: reads, classReads: nil))
    }

    /// The sketch of a classifier model directory, if it has one (see `KmerIndex.load(directory:mode:)`).
    public static func load(directory: String) throws -> KmerSketch? {
        try KmerIndex.load(directory: directory, mode: .sketch).map(KmerSketch.init)
    }

    public var labels: [String] { index.labels }
    public var classCount: Int { index.classCount }

    /// Class `c`'s fingerprints, sorted ascending.
    public func fingerprints(ofClass c: Int) -> ArraySlice<UInt32> { index.words(ofClass: c) }

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
        index.words.withUnsafeBufferPointer { all in
            index.starts.withUnsafeBufferPointer { starts in
                KmerCode.forEachSampledHash(bases, k: parameters.k, scaled: parameters.scaled) { hash in
                    let f = KmerCode.fingerprint(hash)
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
