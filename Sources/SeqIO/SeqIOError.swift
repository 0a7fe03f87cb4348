import CHTSLib

/// An error from a SeqIO reader or writer. Its `description` is one line that names the file and the
/// problem, e.g. `reads.fq.gz: truncated or corrupt gzip/BGZF data after record 41`.
public struct SeqIOError: Error, CustomStringConvertible, Equatable {
    /// What went wrong, for callers that react differently to different failures.
    public enum Kind: Equatable, Sendable {
        /// The file does not exist, is a directory, or cannot be opened or read.
        case unreadable
        /// The data ends early or fails decompression (gzip/BGZF/BAM/CRAM).
        case truncated
        /// The content does not follow its format (e.g. FASTA without `>`, FASTQ quality length).
        case malformed
        /// The file is readable but not of a kind this reader handles.
        case unsupportedFormat
        /// A region was requested but the alignment file has no index.
        case missingIndex
        /// A region or fetch names a contig that is not in the header / index.
        case unknownContig
        /// A region string does not parse, or its coordinates are invalid or out of range.
        case invalidRegion
        /// An output file cannot be created, written, indexed or renamed into place.
        case unwritable
    }

    public let kind: Kind
    /// The file as the caller named it (`-` for stdin).
    public let file: String
    /// The problem, without the file name.
    public let problem: String

    public init(_ kind: Kind, file: String, _ problem: String) {
        self.kind = kind
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}

/// How much htslib itself writes to stderr. SeqIO reports problems through `SeqIOError`,
/// so command-line tools usually want `.error` or `.off` to keep one message per failure.
public enum HTSLibLogLevel: Sendable {
    case off, error, warning, info

    /// Sets htslib's process-wide log level.
    public func apply() {
        switch self {
        case .off: hts_set_log_level(HTS_LOG_OFF)
        case .error: hts_set_log_level(HTS_LOG_ERROR)
        case .warning: hts_set_log_level(HTS_LOG_WARNING)
        case .info: hts_set_log_level(HTS_LOG_INFO)
        }
    }
}

/// `strerror(errno)` as a Swift string, captured right after a failed C call.
func systemErrorText() -> String {
    let code = mdna_errno()
    if code == 0 { return "cannot open" }
    return String(cString: strerror(code))
}

/// Opens `path` (or stdin for `-`) as an hFILE, or throws `unreadable` naming the file.
/// The caller owns the returned handle.
func openHFile(_ path: String) throws -> UnsafeMutablePointer<hFILE> {
    mdna_set_errno(0)
    guard let h = mdna_hopen(path, "r") else {
        throw SeqIOError(.unreadable, file: path, "cannot open: \(systemErrorText())")
    }
    return h
}
