import Foundation

/// A k-mer index of a classifier's classes, built from labelled training reads and stored next to the classifier:
/// per class, a sorted list of 32-bit words and, in the profile mode, how many training reads held each one.
/// Its mode says what the words are and how `classify` uses them:
///
/// - `sketch` (`KmerSketch`): the 32-bit fingerprints of a FracMinHash sample of the canonical k-mers seen at least
///   `minCount` times in a class's reads; consulted before the model, it decides the reads it clearly recognises.
/// - `profile` (`KmerProfile`): every k-mer (k ≤ 12) packed 2 bits a base, with the number of the class's training
///   sequences that contain it; a naive Bayes score added to the model's log-probabilities.
///
/// A model directory holds at most one index per mode (`fileName(_:)`), each in the format of `KmerIndexFile.swift`.
public struct KmerIndex: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        case sketch, profile
    }

    /// The mode and its settings.
    public enum Parameters: Sendable, Equatable {
        case sketch(KmerSketch.Parameters)
        case profile(KmerProfile.Parameters)

        public var mode: Mode {
            switch self {
            case .sketch: .sketch
            case .profile: .profile
            }
        }

        public var k: Int {
            switch self {
            case .sketch(let p): p.k
            case .profile(let p): p.k
            }
        }

        /// The first out-of-range setting, as the `train` option that sets it; nil when all are valid.
        public var problem: String? {
            switch self {
            case .sketch(let p): p.problem
            case .profile(let p): p.problem
            }
        }
    }

    public let parameters: Parameters
    public var mode: Mode { parameters.mode }
    /// Class names in index order: those of the classifier the index belongs to.
    public let labels: [String]
    /// Training reads the index was built from.
    public let reads: Int
    /// Training reads per class; nil only for a sketch read from the earlier `kmer_sketch.safetensors`, which kept
    /// the total alone. The profile mode always has them (its N_c).
    public let classReads: [Int]?
    /// Every class's sorted, unique words back to back; class c owns `starts[c]..<starts[c + 1]`.
    let words: [UInt32]
    let starts: [Int]
    /// Profile mode: the count of each word in `words` (same positions); empty in the sketch mode.
    let counts: [UInt32]

    /// `words[c]` must be sorted and free of duplicates, one list per label; `counts` (profile mode only, nil in the
    /// sketch mode) one count per word. `parameters` must be valid.
    public init(parameters: Parameters, labels: [String], words: [[UInt32]], counts: [[UInt32]]? = nil, reads: Int,
                classReads: [Int]?) {
        precondition(parameters.problem == nil, parameters.problem ?? "")
        precondition(words.count == labels.count && classReads.map { $0.count == labels.count } ?? true,
                     "one word list and read count per class")
        precondition((counts == nil) == (parameters.mode == .sketch) && (parameters.mode == .sketch || classReads != nil),
                     "counts and per-class reads in the profile mode only")
        precondition(counts.map { zip($0, words).allSatisfy { $0.count == $1.count } && $0.count == words.count } ?? true,
                     "one count per word")
        self.parameters = parameters
        self.labels = labels
        self.reads = reads
        self.classReads = classReads
        self.words = words.flatMap { $0 }
        starts = words.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        self.counts = counts?.flatMap { $0 } ?? []
    }

    public var classCount: Int { labels.count }

    /// Words in all classes together.
    public var wordCount: Int { words.count }

    /// Class `c`'s words, sorted ascending.
    public func words(ofClass c: Int) -> ArraySlice<UInt32> { words[starts[c]..<starts[c + 1]] }

    /// Class `c`'s count of each of its words (profile mode; empty in the sketch mode).
    public func counts(ofClass c: Int) -> ArraySlice<UInt32> { counts.isEmpty ? [] : counts[starts[c]..<starts[c + 1]] }

    /// The index file of `mode` inside a classifier model directory.
    public static func fileName(_ mode: Mode) -> String { "kmer_index.\(mode.rawValue).safetensors" }

    /// The file of `mode` as releases before the k-mer index wrote it (still read: see `load(directory:mode:)`).
    public static func legacyFileName(_ mode: Mode) -> String { "kmer_\(mode.rawValue).safetensors" }

    /// Whether a directory whose file names are `files` holds an index of `mode`, in either file.
    public static func present(_ mode: Mode, in files: Set<String>) -> Bool {
        files.contains(fileName(mode)) || files.contains(legacyFileName(mode))
    }
}

/// The k-mer encoding both modes share: bases A=0, C=1, G=2, T=3 (either case), 2 bits each; any other byte (N,
/// IUPAC codes, gaps) breaks the k-mer.
enum KmerCode {
    /// Base byte → 2-bit code; 4 for every byte that is not A, C, G or T in either case.
    static let codes: [UInt8] = {
        var t = [UInt8](repeating: 4, count: 256)
        for (i, b) in "ACGT".utf8.enumerated() { t[Int(b)] = UInt8(i); t[Int(b | 0x20)] = UInt8(i) }
        return t
    }()

    /// Calls `body(word, reverseComplementWord)` for each k-mer of `bases` without a non-ACGT byte, in read order
    /// (k in 1...31): the packed forward word and the packed word of its reverse complement.
    @inline(__always)
    static func forEachWord(_ bases: UnsafeBufferPointer<UInt8>, k: Int, _ body: (UInt64, UInt64) -> Void) {
        let mask: UInt64 = (1 << UInt64(2 * k)) - 1
        let topShift = UInt64(2 * (k - 1))
        codes.withUnsafeBufferPointer { codes in
            var forward: UInt64 = 0, reverse: UInt64 = 0, length = 0
            for b in bases {
                let c = codes[Int(b)]
                if c > 3 { length = 0; forward = 0; reverse = 0; continue }
                forward = ((forward << 2) | UInt64(c)) & mask
                reverse = (reverse >> 2) | (UInt64(3 - c) << topShift)
                length += 1
                if length >= k { body(forward, reverse) }
            }
        }
    }

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

    /// The sketch's 32-bit fingerprint of a hash: its high half.
    @inline(__always)
    static func fingerprint(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash >> 32) }

    /// Calls `body(hash)` for each sampled canonical k-mer of `bases`, in read order (k in 1...31, scaled ≥ 1): the
    /// canonical k-mer is the smaller of the word and its reverse complement, its hash `fmix64` of that, and it is
    /// sampled when hash % scaled == 0.
    @inline(__always)
    static func forEachSampledHash(_ bases: UnsafeBufferPointer<UInt8>, k: Int, scaled: Int, _ body: (UInt64) -> Void) {
        let modulus = UInt64(scaled)
        forEachWord(bases, k: k) { forward, reverse in
            let hash = fmix64(min(forward, reverse))
            if modulus == 1 || hash % modulus == 0 { body(hash) }
        }
    }
}
