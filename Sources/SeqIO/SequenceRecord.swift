/// One FASTA or FASTQ record, copied out of the reader (owns its bytes).
///
/// Bytes are kept exactly as read (lowercase soft-masking, IUPAC codes), except that
/// Windows line ends (`\r`) are removed.
public struct SequenceRecord: Sendable, Equatable {
    /// The header up to the first whitespace, without `>`/`@`.
    public var name: String
    /// The rest of the header line after the first whitespace; empty when there is none.
    public var comment: String
    /// The bases as ASCII bytes.
    public var sequence: [UInt8]
    /// Phred+33 ASCII qualities, one per base; `nil` for FASTA records.
    public var qualities: [UInt8]?

    public init(name: String, comment: String = "", sequence: [UInt8], qualities: [UInt8]? = nil) {
        self.name = name
        self.comment = comment
        self.sequence = sequence
        self.qualities = qualities
    }

    /// The bases as a String (convenience for tests and small sequences; allocates).
    public var sequenceString: String { String(decoding: sequence, as: UTF8.self) }
}
