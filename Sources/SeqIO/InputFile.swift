import CHTSLib

/// A data file opened with the reader its content calls for.
public enum InputFile {
    case sequences(SequenceReader)
    case alignments(AlignmentReader)

    /// Opens `path` (`-` for stdin: read once, so detection and reading share one handle)
    /// and picks `AlignmentReader` for SAM/BAM/CRAM, `SequenceReader` otherwise.
    /// - Throws: the `SeqIOError`s of the chosen reader.
    public static func open(path: String, reference: String? = nil, threads: Int = 0) throws -> InputFile {
        let (h, detected) = try DetectedFormat.open(path: path)
        if detected.format.isAlignment {
            return .alignments(try AlignmentReader(taking: h, path: path, reference: reference, threads: threads))
        }
        return .sequences(try SequenceReader(taking: h, path: path, detected: detected, threads: threads))
    }
}
