import Foundation
import SeqIO

/// An alignment file checked against its reference, with the regions to call, split into chunks
/// that workers take in parallel.
public struct VariantInputs {
    public let alignments: String
    public let reference: String
    /// Reference contigs in FASTA-index order; `Allele.contig` indexes this list.
    public let contigs: [Contig]
    /// Merged, sorted regions (0-based half-open, concrete ends).
    public let regions: [Region]
    /// Distinct `SM` names of the alignment header's read groups.
    public let sampleNames: [String]

    /// Opens and checks the inputs.
    /// - Parameters:
    ///   - regionTexts: samtools-style regions (1-based inclusive), as for `-r`.
    ///   - regionsFile: a BED file (0-based half-open), as for `-R`.
    ///   With neither, every contig of the alignment header is called.
    /// - Throws: `SeqIOError` from the readers (unreadable, bad region, unknown contig), or
    ///   `ToolError` when the alignment file has no index, or a header contig is missing from the
    ///   reference or has another length there.
    public init(alignments: String, reference: String, regionTexts: [String] = [], regionsFile: String? = nil) throws {
        let fasta = try ReferenceFasta(path: reference)
        let reader = try AlignmentReader(path: alignments, reference: reference)
        for c in reader.contigs {
            guard let length = fasta.length(of: c.name) else {
                throw ToolError(file: alignments, "contig '\(c.name)' of the alignment header is not in the reference \(reference)")
            }
            guard length == c.length else {
                throw ToolError(file: alignments, "contig '\(c.name)' has length \(c.length) but \(length) in the reference \(reference)")
            }
        }
        guard reader.hasIndex else {
            let what = regionTexts.isEmpty && regionsFile == nil ? "the whole file" : "regions"
            throw ToolError(file: alignments, "no index (.bai/.csi/.crai) for calling \(what); run 'samtools index \(alignments)'")
        }
        var wanted: [Region] = []
        for text in regionTexts { wanted.append(try Region.parse(text, contigs: reader.contigs, source: "-r")) }
        if let regionsFile { wanted += try BEDReader.read(path: regionsFile, contigs: reader.contigs) }
        if regionTexts.isEmpty && regionsFile == nil {
            wanted = reader.contigs.map { Region(contig: $0.name, start: 0, end: $0.length) }
        }
        self.alignments = alignments
        self.reference = reference
        contigs = fasta.contigs
        regions = Self.merge(wanted, order: fasta.contigs)
        sampleNames = reader.sampleNames
    }

    /// Sorted by reference order, overlapping or touching intervals joined, empty ones dropped.
    static func merge(_ regions: [Region], order: [Contig]) -> [Region] {
        let rank = Dictionary(order.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        let lengths = Dictionary(order.map { ($0.name, $0.length) }, uniquingKeysWith: { a, _ in a })
        let sorted = regions.map { $0.clamped(toLength: lengths[$0.contig] ?? 0) }
            .filter { $0.end! > $0.start }
            .sorted { (rank[$0.contig] ?? 0, $0.start) < (rank[$1.contig] ?? 0, $1.start) }
        var out: [Region] = []
        for r in sorted {
            if let last = out.last, last.contig == r.contig, r.start <= last.end! {
                out[out.count - 1].end = max(last.end!, r.end!)
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// The regions cut into pieces of at most `size` positions, in order.
    public func chunks(size: Int) -> [Region] {
        var out: [Region] = []
        for r in regions {
            var s = r.start
            while s < r.end! {
                let e = min(r.end!, s + size)
                out.append(Region(contig: r.contig, start: s, end: e))
                s = e
            }
        }
        return out
    }

    public func contigIndex(_ name: String) -> Int? { contigs.firstIndex { $0.name == name } }
}
