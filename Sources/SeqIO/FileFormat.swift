import CHTSLib

/// Compression of a file's bytes, as htslib detects it from the content (not the name).
public enum Compression: String, Sendable {
    case none
    case gzip
    /// Blocked gzip (bgzip/samtools): gzip-compatible, seekable, decompressible in parallel.
    case bgzf
    case other

    init(_ c: htsCompression) {
        switch c {
        case CHTSLib.no_compression: self = .none
        case CHTSLib.gzip: self = .gzip
        case CHTSLib.bgzf: self = .bgzf
        default: self = .other
        }
    }
}

/// A file format as htslib's `hts_detect_format` names it.
public enum FileFormat: String, Sendable {
    case fasta = "FASTA"
    case fastq = "FASTQ"
    case sam = "SAM"
    case bam = "BAM"
    case cram = "CRAM"
    case empty = "empty"
    case other = "unknown"

    init(_ f: htsExactFormat) {
        switch f {
        case CHTSLib.fasta_format: self = .fasta
        case CHTSLib.fastq_format: self = .fastq
        case CHTSLib.sam: self = .sam
        case CHTSLib.bam: self = .bam
        case CHTSLib.cram: self = .cram
        case CHTSLib.empty_format: self = .empty
        default: self = .other
        }
    }

    /// Sequence formats read by `SequenceReader`.
    public var isSequence: Bool { self == .fasta || self == .fastq }
    /// Alignment formats read by `AlignmentReader`.
    public var isAlignment: Bool { self == .sam || self == .bam || self == .cram }
}

/// Format and compression of a file, detected from its first bytes.
public struct DetectedFormat: Sendable, Equatable {
    public var format: FileFormat
    public var compression: Compression

    public init(format: FileFormat, compression: Compression) {
        self.format = format
        self.compression = compression
    }

    /// Detects the format of the file at `path` (not `-`: stdin cannot be peeked twice).
    /// Throws `SeqIOError.unreadable` when the file cannot be opened or read.
    public static func detect(path: String) throws -> DetectedFormat {
        let (h, detected) = try open(path: path)
        _ = hclose(h)
        return detected
    }

    /// Opens `path` (`-` for stdin) and detects its format without consuming bytes, so the caller
    /// reads from the same handle (stdin can be read only once). The caller owns the returned hFILE.
    static func open(path: String) throws -> (UnsafeMutablePointer<hFILE>, DetectedFormat) {
        if path != "-" && mdna_is_directory(path) != 0 {
            throw SeqIOError(.unreadable, file: path, "is a directory")
        }
        let h = try openHFile(path)
        do {
            return (h, try detect(h, path: path))
        } catch {
            _ = hclose(h)
            throw error
        }
    }

    /// Detects the format of an open hFILE without consuming its bytes.
    static func detect(_ h: UnsafeMutablePointer<hFILE>, path: String) throws -> DetectedFormat {
        var fmt = htsFormat()
        mdna_set_errno(0)
        if hts_detect_format(h, &fmt) < 0 {
            throw SeqIOError(.unreadable, file: path, "cannot read: \(systemErrorText())")
        }
        return DetectedFormat(format: FileFormat(fmt.format), compression: Compression(fmt.compression))
    }
}
