import Foundation
import SeqIO

/// Runs the pileup and candidate scan over chunks of `VariantInputs`, in parallel.
public enum CandidateGenerator {
    /// Positions scanned beyond each side of a chunk, so an indel whose reads place it on one side of a
    /// chunk boundary and whose left-aligned position is on the other is still seen by its chunk.
    static let scanMargin = 200
    /// Extra reference bases fetched around the scan for left-alignment and repeat context.
    static let contextMargin = 300
    public static let chunkSize = 100_000

    /// Candidates of one chunk (0-based half-open region), sorted.
    /// - Throws: `SeqIOError` from the alignment or FASTA readers.
    public static func scan(chunk: Region, contig: Int, contigLength: Int, reader: AlignmentReader,
                            fasta: ReferenceFasta, options: CandidateOptions) throws -> [Candidate] {
        let end = chunk.end!
        let scanStart = max(0, chunk.start - scanMargin), scanEnd = min(contigLength, end + scanMargin)
        let windowStart = max(0, scanStart - contextMargin), windowEnd = min(contigLength, scanEnd + contextMargin)
        let window = try fasta.fetch(Region(contig: chunk.contig, start: windowStart, end: windowEnd))
        let scanner = CandidateScanner(contig: contig, scanRange: scanStart..<scanEnd, keepRange: chunk.start..<end,
                                       window: window, windowStart: windowStart, options: options)
        // Entries carry their read's whole-read evidence (edit distance, clipping, second-hit margin,
        // pairing), which separates reads that belong elsewhere in the genome (paralogs, diverged or
        // recombined segments) from reads that carry a real variant.
        let pileup = try Pileup(reader: reader, region: Region(contig: chunk.contig, start: scanStart, end: scanEnd),
                                filter: options.filter, readSummaries: true)
        while let column = try pileup.next() { scanner.add(position: column.position, entries: column.entries) }
        return scanner.finish()
    }

    /// Runs `body` on the candidates of every chunk, on `threads` workers; each worker has its own
    /// readers. Results come back in chunk order.
    /// - Throws: the first reader error of any worker.
    public static func map<T>(_ inputs: VariantInputs, chunks: [Region], options: CandidateOptions, threads: Int,
                              _ body: @escaping (Region, [Candidate]) throws -> T) throws -> [T] {
        let shared = ChunkResults<T>(chunks.count)
        let lengths = Dictionary(inputs.contigs.map { ($0.name, $0.length) }, uniquingKeysWith: { a, _ in a })
        let workers = max(1, min(threads, chunks.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            do {
                let reader = try AlignmentReader(path: inputs.alignments, reference: inputs.reference)
                let fasta = try ReferenceFasta(path: inputs.reference)
                while true {
                    shared.lock.lock()
                    let i = shared.next
                    shared.next += 1
                    let stop = shared.error != nil
                    shared.lock.unlock()
                    if stop || i >= chunks.count { return }
                    let chunk = chunks[i]
                    let candidates = try scan(chunk: chunk, contig: inputs.contigIndex(chunk.contig)!,
                                              contigLength: lengths[chunk.contig]!, reader: reader, fasta: fasta,
                                              options: options)
                    let r = try body(chunk, candidates)
                    shared.lock.lock(); shared.results[i] = r; shared.lock.unlock()
                }
            } catch {
                shared.lock.lock()
                if shared.error == nil { shared.error = error }
                shared.lock.unlock()
            }
        }
        if let error = shared.error { throw error }
        return shared.results.map { $0! }
    }
}

/// Work queue and results shared by the chunk workers (guarded by `lock`).
private final class ChunkResults<T>: @unchecked Sendable {
    let lock = NSLock()
    var next = 0
    var results: [T?]
    var error: Error?
    init(_ n: Int) { results = Array(repeating: nil, count: n) }
}
