import CHTSLib

/// Whole-file statistics of a FASTA/FASTQ file, computed in one streaming pass without
/// copying records. Memory: 4 bytes per record (the lengths, for N50).
public struct SequenceFileSummary: Sendable, Equatable {
    public var path: String
    public var format: FileFormat
    public var compression: Compression
    public var records = 0
    /// Total number of bases (all letters, including N and IUPAC codes).
    public var bases = 0
    public var minLength = 0
    public var maxLength = 0
    /// Length such that records at least this long hold half of all bases; 0 when empty.
    public var n50 = 0
    /// Bases that are A, C, G or T (either case).
    public var acgtBases = 0
    /// Bases that are G or C (either case).
    public var gcBases = 0

    /// G+C over A+C+G+T (other IUPAC codes and N are left out); `nil` when there are none.
    public var gcFraction: Double? { acgtBases > 0 ? Double(gcBases) / Double(acgtBases) : nil }
    public var meanLength: Double { records > 0 ? Double(bases) / Double(records) : 0 }

    /// Reads `path` (`-` for stdin) to the end.
    /// - Parameter threads: extra BGZF decompression threads.
    /// - Throws: the `SeqIOError`s of `SequenceReader`.
    public static func compute(path: String, threads: Int = 0) throws -> SequenceFileSummary {
        try compute(reader: SequenceReader(path: path, threads: threads))
    }

    /// Reads the rest of `reader` (normally freshly opened).
    public static func compute(reader: SequenceReader) throws -> SequenceFileSummary {
        var summary = SequenceFileSummary(path: reader.path, format: reader.detected.format, compression: reader.detected.compression)
        var lengths = RecordLengths()
        let counter = ByteCounter()
        while try reader.advance() {
            let sequence = reader.currentSequence
            lengths.append(sequence.count)
            counter.add(sequence)
        }
        let counts = counter.counts()
        summary.records = lengths.count
        summary.bases = lengths.total
        summary.minLength = lengths.min
        summary.maxLength = lengths.max
        summary.n50 = lengths.n50()
        let count = { (c: Character) in counts[Int(c.asciiValue!)] + counts[Int(c.asciiValue! | 0x20)] }
        summary.gcBases = count("G") + count("C")
        summary.acgtBases = summary.gcBases + count("A") + count("T")
        return summary
    }
}

/// Byte histogram for base composition. Four interleaved UInt32 tables keep runs of equal
/// bytes from waiting on each other's increments; they are folded into 64-bit totals only
/// before they could overflow, so short records cost no per-record bookkeeping.
final class ByteCounter {
    private let tables = UnsafeMutablePointer<UInt32>.allocate(capacity: 4 * 256)
    private var totals = [Int](repeating: 0, count: 256)
    private var pending = 0

    init() { tables.initialize(repeating: 0, count: 4 * 256) }
    deinit { tables.deallocate() }

    @inline(__always)
    func add(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let p = bytes.baseAddress else { return }
        let n = bytes.count
        var i = 0
        while i < n {
            // No table may pass UInt32.max: fold after at most 2^31 bytes.
            if pending >= 1 << 31 { fold() }
            let end = Swift.min(n, i + (1 << 31) - pending)
            pending += end - i
            let t = tables
            while i + 4 <= end {
                t[Int(p[i])] &+= 1
                t[256 + Int(p[i + 1])] &+= 1
                t[512 + Int(p[i + 2])] &+= 1
                t[768 + Int(p[i + 3])] &+= 1
                i += 4
            }
            while i < end { t[Int(p[i])] &+= 1; i += 1 }
        }
    }

    private func fold() {
        for k in 0..<256 {
            totals[k] += Int(tables[k]) + Int(tables[256 + k]) + Int(tables[512 + k]) + Int(tables[768 + k])
        }
        tables.update(repeating: 0, count: 4 * 256)
        pending = 0
    }

    /// Occurrences of each byte value so far.
    func counts() -> [Int] {
        fold()
        return totals
    }
}

/// Record lengths for N50: UInt32 each; lengths of 4 Gbp and more go to a side list.
struct RecordLengths {
    private var small: [UInt32] = []
    private var large: [Int] = []
    private(set) var total = 0
    private(set) var min = 0
    private(set) var max = 0
    var count: Int { small.count + large.count }

    mutating func append(_ length: Int) {
        if count == 0 { min = length; max = length }
        else { min = Swift.min(min, length); max = Swift.max(max, length) }
        total += length
        if length <= Int(UInt32.max) { small.append(UInt32(length)) } else { large.append(length) }
    }

    /// Sorts in place (descending) and walks until half the bases are covered.
    mutating func n50() -> Int {
        guard total > 0 else { return 0 }
        large.sort(by: >)
        var covered = 0
        for l in large {
            covered += l
            if 2 * covered >= total { return l }
        }
        small.sort(by: >)
        for l in small {
            covered += Int(l)
            if 2 * covered >= total { return Int(l) }
        }
        return 0
    }
}
