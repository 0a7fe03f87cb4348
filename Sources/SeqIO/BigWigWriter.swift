import CBigWig
import Foundation
import FileOutput

/// A bigWig file (UCSC's indexed binary form of a bedGraph) written through libBigWig: chromosomes and their
/// lengths first, then intervals chromosome by chromosome in the order given, each chromosome's sorted by
/// start and not overlapping. Written to a temporary sibling and renamed into place (`OutputPath`), so a failure
/// leaves no partial file; a device, FIFO or stdout cannot take a bigWig (it is written with seeks).
public enum BigWigWriter {
    public struct Interval: Sendable, Equatable {
        /// Index into the chromosome list.
        public var chromosome: Int
        /// 0-based, half-open.
        public var start: Int
        public var end: Int
        public var value: Float
        public init(chromosome: Int, start: Int, end: Int, value: Float) {
            self.chromosome = chromosome; self.start = start; self.end = end; self.value = value
        }
    }

    /// Zoom levels libBigWig precomputes for browsers (its own default is 10).
    static let zoomLevels: Int32 = 10

    /// Writes `intervals` over `chromosomes` (name, length) to `path`.
    /// - Throws: `SeqIOError(.unwritable)` naming `path` when the destination is refused, a chromosome is longer
    ///   than bigWig's 32-bit coordinates, the intervals are out of order or out of range, or libBigWig fails.
    public static func write(path: String, chromosomes: [(name: String, length: Int)], intervals: [Interval],
                             inputs: [String] = []) throws {
        let output: OutputPath
        do { output = try OutputPath(path, inputs: inputs) } catch {
            throw SeqIOError(.unwritable, file: path, (error as? OutputError)?.reason ?? ErrorText.reason(error))
        }
        guard !output.isDirect else {
            throw SeqIOError(.unwritable, file: path, "a bigWig is written with seeks: give a regular file, not a device, FIFO or stdout")
        }
        do {
            try validate(chromosomes: chromosomes, intervals: intervals, path: path)
            try writeFile(output.writePath, chromosomes: chromosomes, intervals: intervals, path: path)
            try output.commit()
        } catch {
            output.abandon()
            if let e = error as? SeqIOError { throw e }
            throw SeqIOError(.unwritable, file: path, (error as? OutputError)?.reason ?? ErrorText.reason(error))
        }
    }

    static func validate(chromosomes: [(name: String, length: Int)], intervals: [Interval], path: String) throws {
        for c in chromosomes where c.length <= 0 || c.length > Int(UInt32.max) {
            throw SeqIOError(.unwritable, file: path, "sequence '\(c.name)' has length \(c.length): bigWig holds 1 to 2^32 − 1 bases")
        }
        var last = (chromosome: -1, end: 0)
        for iv in intervals {
            guard iv.chromosome >= 0 && iv.chromosome < chromosomes.count, iv.start >= 0, iv.start < iv.end,
                  iv.end <= chromosomes[iv.chromosome].length else {
                throw SeqIOError(.unwritable, file: path, "interval \(iv.start)-\(iv.end) lies outside its sequence")
            }
            guard iv.chromosome > last.chromosome || (iv.chromosome == last.chromosome && iv.start >= last.end) else {
                throw SeqIOError(.unwritable, file: path, "intervals out of order at \(chromosomes[iv.chromosome].name):\(iv.start)")
            }
            last = (iv.chromosome, iv.end)
        }
    }

    private static func writeFile(_ file: String, chromosomes: [(name: String, length: Int)], intervals: [Interval],
                                  path: String) throws {
        guard bwInit(1 << 17) == 0 else { throw SeqIOError(.unwritable, file: path, "libBigWig could not start") }
        defer { bwCleanup() }
        // C copies of the names, freed only after the file is closed (defers run last-registered first).
        let names = chromosomes.map { strdup($0.name)! }
        defer { names.forEach { free($0) } }
        guard let fp = bwOpen(file, nil, "w") else { throw SeqIOError(.unwritable, file: path, "cannot create") }
        var closed = false
        defer { if !closed { bwClose(fp) } }
        guard bwCreateHdr(fp, zoomLevels) == 0 else { throw SeqIOError(.unwritable, file: path, "bigWig header failed") }
        let lengths = chromosomes.map { UInt32($0.length) }
        let list = names.map { UnsafePointer($0) as UnsafePointer<CChar>? }.withUnsafeBufferPointer { n in
            lengths.withUnsafeBufferPointer { bwCreateChromList(n.baseAddress, $0.baseAddress, Int64(chromosomes.count)) }
        }
        guard let list else { throw SeqIOError(.unwritable, file: path, "bigWig chromosome list failed") }
        fp.pointee.cl = list
        guard bwWriteHdr(fp) == 0 else { throw SeqIOError(.unwritable, file: path, "bigWig header failed") }
        // Blocks of intervals: one call per chromosome run (libBigWig starts a block per call).
        var i = 0
        while i < intervals.count {
            var j = i
            while j < intervals.count && intervals[j].chromosome == intervals[i].chromosome && j - i < 1 << 16 { j += 1 }
            let run = intervals[i..<j]
            let name: UnsafePointer<CChar>? = UnsafePointer(names[intervals[i].chromosome])
            var chrom = [UnsafePointer<CChar>?](repeating: name, count: run.count)
            var starts = run.map { UInt32($0.start) }, ends = run.map { UInt32($0.end) }, values = run.map(\.value)
            let st = chrom.withUnsafeMutableBufferPointer { c in
                bwAddIntervals(fp, c.baseAddress, &starts, &ends, &values, UInt32(run.count))
            }
            guard st == 0 else { throw SeqIOError(.unwritable, file: path, "writing intervals failed") }
            i = j
        }
        closed = true
        bwClose(fp)   // writes the index and zoom levels
    }
}
