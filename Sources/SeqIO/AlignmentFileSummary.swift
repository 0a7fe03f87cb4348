import CHTSLib

/// Whole-file statistics of a SAM/BAM/CRAM file, computed in one streaming pass that reuses
/// a single record buffer.
public struct AlignmentFileSummary: Sendable, Equatable {
    public var path: String
    public var format: FileFormat
    public var compression: Compression
    public var contigs: [Contig]
    /// Whether a `.bai`/`.csi`/`.crai` index was found next to the file.
    public var hasIndex: Bool
    public var records = 0
    /// Records without the unmapped flag (0x4); secondary and supplementary included.
    public var mapped = 0
    public var unmapped = 0
    public var secondary = 0
    public var supplementary = 0

    /// Reads `path` (`-` for stdin) to the end.
    /// - Throws: the `SeqIOError`s of `AlignmentReader`.
    public static func compute(path: String, reference: String? = nil, threads: Int = 0) throws -> AlignmentFileSummary {
        try compute(reader: AlignmentReader(path: path, reference: reference, threads: threads))
    }

    /// Reads the rest of `reader` (normally freshly opened, without a region query).
    public static func compute(reader: AlignmentReader) throws -> AlignmentFileSummary {
        var summary = AlignmentFileSummary(path: reader.path, format: reader.format, compression: reader.compression,
                                           contigs: reader.contigs, hasIndex: reader.hasIndex)
        guard let b = bam_init1() else { return summary }
        defer { bam_destroy1(b) }
        while try reader.read(into: b) {
            let flag = b.pointee.core.flag
            summary.records += 1
            if flag & 0x4 != 0 { summary.unmapped += 1 } else { summary.mapped += 1 }
            if flag & 0x100 != 0 { summary.secondary += 1 }
            if flag & 0x800 != 0 { summary.supplementary += 1 }
        }
        return summary
    }
}
