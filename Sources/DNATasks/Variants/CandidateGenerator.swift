import Foundation
import MambaModel
import SeqIO

/// Runs the pileup and candidate scan over chunks of `VariantInputs`, in parallel.
public enum CandidateGenerator {
    /// Positions scanned beyond each side of a chunk, so an indel whose reads place it on one side of a
    /// chunk boundary and whose left-aligned position is on the other is still seen by its chunk.
    static let scanMargin = 200
    /// Extra reference bases fetched around the scan for left-alignment and repeat context.
    static let contextMargin = 300
    public static let chunkSize = 100_000

    /// Candidates of one chunk (0-based half-open region), sorted; with `embedding`, its features
    /// follow the pileup features.
    /// - Throws: `SeqIOError` from the alignment or FASTA readers.
    public static func scan(chunk: Region, contig: Int, contigLength: Int, reader: AlignmentReader,
                            fasta: ReferenceFasta, options: CandidateOptions,
                            embedding: ContextEmbedding? = nil) throws -> [Candidate] {
        let end = chunk.end!
        let scanStart = max(0, chunk.start - scanMargin), scanEnd = min(contigLength, end + scanMargin)
        let windowStart = max(0, scanStart - contextMargin), windowEnd = min(contigLength, scanEnd + contextMargin)
        let window = try fasta.fetch(Region(contig: chunk.contig, start: windowStart, end: windowEnd))
        let scanner = CandidateScanner(contig: contig, scanRange: scanStart..<scanEnd, keepRange: chunk.start..<end,
                                       window: window, windowStart: windowStart, options: options)
        // Entries carry their read's whole-read evidence (edit distance, clipping, second-hit margin,
        // pairing), which separates reads that belong elsewhere in the genome (paralogs, diverged or
        // recombined segments) from reads that carry a real variant.
        let region = Region(contig: chunk.contig, start: scanStart, end: scanEnd)
        var reads: [AlignedRead] = [], windows: [Range<Int>] = []
        if options.realign {
            // The reads are read once for both the windows and the clip rescue; columns inside
            // windows then come from the realigned reads, all others from the pileup as before.
            reads = try filteredReads(reader: reader, region: region, filter: options.filter)
            windows = LocalRealigner.activeWindows(reads, limit: scanStart..<scanEnd, reference: scanner.refBase)
            scanner.mask(windows)
        }
        let pileup = try Pileup(reader: reader, region: region, filter: options.filter, readSummaries: true)
        while let column = try pileup.next() { scanner.add(position: column.position, entries: column.entries) }
        // Indel sites known from the pileup; the pass over the reads below keeps the reads overlapping them.
        scanner.prepareHaplotypeSites()
        if options.realign {
            scanner.addRealigned(windows, reads: reads, minBaseQuality: options.filter.minBaseQuality)
            for r in reads {
                rescue(r, scanner: scanner, minBaseQuality: options.filter.minBaseQuality)
                scanner.collect(r)
                scanner.noteClips(r)
            }
            if !scanner.addClipSites().isEmpty { for r in reads { scanner.collectForNewSites(r) } }
            if !scanner.assemble().isEmpty { for r in reads { scanner.collectForNewSites(r) } }
        } else {
            try rescueClips(reader: reader, region: region, scanner: scanner, filter: options.filter)
            // Sites that local assembly found: their reads are read again, around their windows only.
            let windows = scanner.assemble()
            try refetch(windows.map { $0.lowerBound..<($0.upperBound + 1) }, pad: scanner.readLength, reader: reader,
                        region: region, filter: options.filter, scanner.collectForNewSites)
        }
        var candidates = scanner.finish()
        if let embedding {
            let extra = embedding.features(candidates.map(\.allele), reference: scanner.refBase)
            for i in candidates.indices { candidates[i].features += extra[i] }
        }
        return candidates
    }

    /// Adds the soft-clipped bases of the region's reads that fit the reference (`SoftClipRescue`)
    /// to the scanner's columns. Reads pass the same filters as the pileup's.
    static func rescueClips(reader: AlignmentReader, region: Region, scanner: CandidateScanner,
                            filter: PileupFilter) throws {
        try reader.query(region)
        while let r = try reader.next() {
            guard passes(r, filter) else { continue }
            let cigar = r.cigar
            let soft = UInt8(ascii: "S")
            let leading = cigar.first.map { $0.op == soft ? $0.length : 0 } ?? 0
            let trailing = cigar.count > 1 ? (cigar.last!.op == soft ? cigar.last!.length : 0) : 0
            let span = cigar.reduce(0) { $0 + ($1.consumesReference ? $1.length : 0) }
            let wanted = scanner.wantsRead((r.position - leading)..<(r.position + span + trailing))
            if wanted || max(leading, trailing) >= ClippedIndels.minAnchor {
                let sequence = r.sequence
                if !sequence.isEmpty {
                    let a = AlignedRead(position: r.position, cigar: cigar, sequence: sequence,
                                        qualities: r.qualities ?? [UInt8](repeating: 0xFF, count: sequence.count),
                                        isReverse: r.isReverse, mappingQuality: r.mappingQuality, summary: r.summary)
                    if wanted { scanner.collect(a) }
                    scanner.noteClips(a)
                }
            }
            guard max(leading, trailing) >= SoftClipRescue.minClip, let qualities = r.qualities else { continue }
            let bases = SoftClipRescue.place(position: r.position, referenceLength: span, leadingClip: leading,
                                             trailingClip: trailing, sequence: r.sequence, qualities: qualities,
                                             minBaseQuality: filter.minBaseQuality, reference: scanner.refBase)
            if bases.isEmpty { continue }
            scanner.addRescued(bases, read: r.summary, mappingQuality: r.mappingQuality, isReverse: r.isReverse,
                               readLength: r.sequenceLength)
        }
        // Sites that clipped reads suggested: their reads are read again, around each group of sites only.
        let sites = scanner.addClipSites()
        try refetch(sites.map { $0.position..<($0.position + $0.ref.count + 1) }, pad: scanner.readLength + ClippedIndels.maxIndel,
                    reader: reader, region: region, filter: filter, scanner.collectForNewSites)
    }

    /// Passes the reads around `spans` (sorted; each padded by `pad` bases) that pass the filters to `body`,
    /// each read once.
    static func refetch(_ spans: [Range<Int>], pad: Int, reader: AlignmentReader, region: Region, filter: PileupFilter,
                        _ body: (AlignedRead) -> Void) throws {
        var ranges: [Range<Int>] = []
        for s in spans {
            let r = max(0, s.lowerBound - pad)..<(s.upperBound + pad)
            // Ranges closer than a read's span are merged, so no read is fetched twice.
            if let last = ranges.last, r.lowerBound <= last.upperBound + pad {
                ranges[ranges.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                ranges.append(r)
            }
        }
        for range in ranges {
            try reader.query(Region(contig: region.contig, start: range.lowerBound, end: range.upperBound))
            while let r = try reader.next() {
                guard passes(r, filter) else { continue }
                let sequence = r.sequence
                guard !sequence.isEmpty else { continue }
                body(AlignedRead(position: r.position, cigar: r.cigar, sequence: sequence,
                                 qualities: r.qualities ?? [UInt8](repeating: 0xFF, count: sequence.count),
                                 isReverse: r.isReverse, mappingQuality: r.mappingQuality, summary: r.summary))
            }
        }
    }

    /// Whether a record passes the pileup's read filters.
    static func passes(_ r: AlignmentRecord, _ filter: PileupFilter) -> Bool {
        let flags = r.flags
        if !flags.isDisjoint(with: filter.excludeFlags.union(.unmapped)) || r.mappingQuality < filter.minMappingQuality { return false }
        return filter.includeAnomalousPairs || !flags.contains(.paired) || flags.contains(.properPair)
    }

    /// The region's reads that pass the pileup's read filters, in file order.
    static func filteredReads(reader: AlignmentReader, region: Region, filter: PileupFilter) throws -> [AlignedRead] {
        try reader.query(region)
        var out: [AlignedRead] = []
        while let r = try reader.next() {
            guard passes(r, filter) else { continue }
            let sequence = r.sequence
            guard !sequence.isEmpty else { continue }
            // Without qualities (QUAL `*`) the pileup sees 0xFF, which passes any floor.
            let qualities = r.qualities ?? [UInt8](repeating: 0xFF, count: sequence.count)
            out.append(AlignedRead(position: r.position, cigar: r.cigar, sequence: sequence, qualities: qualities,
                                   isReverse: r.isReverse, mappingQuality: r.mappingQuality, summary: r.summary))
        }
        return out
    }

    /// Adds one read's soft-clipped bases that fit the reference (`SoftClipRescue`) to the scanner.
    static func rescue(_ r: AlignedRead, scanner: CandidateScanner, minBaseQuality: Int) {
        guard max(r.leadingClip, r.trailingClip) >= SoftClipRescue.minClip else { return }
        let bases = SoftClipRescue.place(position: r.position, referenceLength: r.referenceEnd - r.position,
                                         leadingClip: r.leadingClip, trailingClip: r.trailingClip, sequence: r.sequence,
                                         qualities: r.qualities, minBaseQuality: minBaseQuality, reference: scanner.refBase)
        if bases.isEmpty { return }
        scanner.addRescued(bases, read: r.summary, mappingQuality: r.mappingQuality, isReverse: r.isReverse,
                           readLength: r.sequence.count)
    }

    /// Runs `body` on the candidates of every chunk, on `threads` workers; each worker has its own
    /// readers. Results come back in chunk order. `embedding` and `body` run inside the workers, so what they
    /// compute runs on one thread each (`ContextEmbedding` does).
    /// - Throws: the first reader error of any worker.
    public static func map<T>(_ inputs: VariantInputs, chunks: [Region], options: CandidateOptions, threads: Int,
                              embedding: ContextEmbedding? = nil,
                              _ body: @escaping (Region, [Candidate]) throws -> T) throws -> [T] {
        let shared = ChunkResults<T>(chunks.count)
        let lengths = Dictionary(inputs.contigs.map { ($0.name, $0.length) }, uniquingKeysWith: { a, _ in a })
        let workers = max(1, min(threads, chunks.count))
        Parallel.run(workers) { _ in
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
                                              options: options, embedding: embedding)
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
