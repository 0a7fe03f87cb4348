import CHTSLib
import FileOutput

/// Streams FASTA/FASTQ records from a plain, gzip or BGZF file (or stdin as `-`) with
/// htslib's kseq over a BGZF handle. Compression and format are detected from the content.
///
/// Memory stays constant: each record reuses the reader's buffers. `next()` copies the
/// current record out; `advance()` plus the `current*` views read without copying.
///
/// Not thread-safe; use one reader per thread.
public final class SequenceReader {
    /// The path as given (`-` for stdin); used in error messages.
    public let path: String
    /// Format (FASTA/FASTQ, or `.empty`) and compression as detected at open.
    public let detected: DetectedFormat
    /// Records returned so far.
    public private(set) var recordCount = 0

    private let bgzf: UnsafeMutablePointer<BGZF>
    private var seq: UnsafeMutablePointer<mdna_kseq_t>?
    private var finished = false

    /// Opens `path` (`-` for stdin).
    /// - Parameter threads: extra decompression threads for BGZF input (ignored for gzip/plain).
    /// - Throws: `SeqIOError` `.unreadable` (missing, directory, permission), `.unsupportedFormat`
    ///   (SAM/BAM/CRAM, bzip2, ...), `.malformed` (first non-blank character is not `>`/`@`),
    ///   `.truncated` (BGZF without its end-of-file marker, or undecodable compressed data).
    public convenience init(path: String, threads: Int = 0) throws {
        let (h, detected) = try DetectedFormat.open(path: path)
        try self.init(taking: h, path: path, detected: detected, threads: threads)
    }

    /// Takes ownership of `h` (closed on error too), whose format was detected already.
    init(taking h: UnsafeMutablePointer<hFILE>, path: String, detected: DetectedFormat, threads: Int) throws {
        self.path = path
        self.detected = detected
        if detected.compression == .other {
            _ = hclose(h)
            throw SeqIOError(.unsupportedFormat, file: path,
                             "unsupported compression (only gzip and BGZF are read)")
        }
        if detected.format.isAlignment {
            _ = hclose(h)
            throw SeqIOError(.unsupportedFormat, file: path,
                             "is \(detected.format.rawValue), not FASTA/FASTQ")
        }
        guard let fp = bgzf_hopen(h, "r") else {
            _ = hclose(h)
            throw SeqIOError(.unreadable, file: path, "cannot open: \(systemErrorText())")
        }
        bgzf = fp
        if detected.compression == .bgzf {
            // A BGZF file cut at a block boundary decodes cleanly; only the missing
            // end-of-file marker shows the loss (not checkable on stdin: returns 2).
            // Every stored property is set, so a throw from here on runs deinit, which closes.
            if bgzf_check_EOF(fp) == 0 {
                throw SeqIOError(.truncated, file: path,
                                 "truncated BGZF file: the end-of-file marker is missing")
            }
            if threads > 0 { _ = bgzf_mt(fp, Int32(threads), 256) }
        }
        try start()
    }

    deinit {
        if let seq { mdna_kseq_destroy(seq) }
        _ = bgzf_close(bgzf)
    }

    /// Skips leading blank lines and checks that the data starts like FASTA/FASTQ. kseq
    /// itself silently skips anything before the first `>`/`@`, which would turn a wrong
    /// file into zero records.
    private func start() throws {
        var c: Int32
        repeat { c = bgzf_getc(bgzf) } while c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D
        if c < -1 || mdna_bgzf_errcode(bgzf) != 0 {
            throw SeqIOError(.truncated, file: path, "cannot decompress: truncated or corrupt gzip/BGZF data")
        }
        if c == -1 {
            finished = true
            return
        }
        guard c == 0x3E || c == 0x40 else {   // '>' or '@'
            throw SeqIOError(.malformed, file: path,
                             "not FASTA/FASTQ: first non-blank character is \(describe(byte: c)), expected '>' or '@'")
        }
        firstHeader = c
        seq = mdna_kseq_init(bgzf)
        // The header character was consumed above; tell kseq so it reads the name next.
        seq!.pointee.last_char = c
    }

    /// Moves to the next record without copying it; the `current*` views show it until the
    /// next call. Returns `false` at end of input.
    /// - Throws: `SeqIOError` `.truncated` (decompression/read error), `.malformed`
    ///   (FASTQ quality length differs from sequence length, or missing quality line; a record whose bases are
    ///   one line must have its qualities on one line).
    public func advance() throws -> Bool {
        guard !finished, let seq else { return false }
        var qualityLine = 0
        let r = mdna_kseq_read_strict(seq, &qualityLine)
        // kseq ends a FASTA record at a read error as if at end of file, so the error code
        // of the BGZF handle is the only reliable sign of a short read.
        if mdna_bgzf_errcode(bgzf) != 0 || r == -3 {
            finished = true
            throw SeqIOError(.truncated, file: path,
                             "truncated or corrupt \(compressionWord) data after record \(recordCount)")
        }
        if r == -1 {
            finished = true
            return false
        }
        if r == -2 || r == -4 {
            finished = true
            let name = ByteText.decode(view(seq.pointee.name))
            // -4: one line of bases, one quality line of another length (kseq alone would read on into the next record).
            let s = seq.pointee.seq.l, q = r == -4 ? qualityLine : seq.pointee.qual.l
            throw SeqIOError(.malformed, file: path,
                             "FASTQ record \(recordCount + 1) '\(name)': quality length \(q) differs from sequence length \(s)")
        }
        // kseq resets last_char to 0 only after reading a '+' line and qualities; a FASTA
        // record leaves the next (or its own) header character there.
        currentIsFASTQ = seq.pointee.last_char == 0
        if firstHeader == 0x40 && !currentIsFASTQ {
            finished = true
            let name = ByteText.decode(view(seq.pointee.name))
            throw SeqIOError(.malformed, file: path,
                             "FASTQ record \(recordCount + 1) '\(name)' has no '+' line and qualities (truncated file?)")
        }
        stripCarriageReturns(&seq.pointee.seq)
        stripCarriageReturns(&seq.pointee.qual)
        stripCarriageReturns(&seq.pointee.comment)
        recordCount += 1
        return true
    }

    /// Reads and copies the next record; `nil` at end of input. Throws as `advance()`.
    public func next() throws -> SequenceRecord? {
        guard try advance() else { return nil }
        // Names and comments keep their bytes (ByteText): read names need not be UTF-8.
        return SequenceRecord(name: ByteText.decode(currentName),
                              comment: ByteText.decode(currentComment),
                              sequence: Array(currentSequence),
                              qualities: currentQualities.map { Array($0) })
    }

    /// Name bytes of the current record (borrowed; valid until the next `advance`/`next`).
    public var currentName: UnsafeBufferPointer<UInt8> { seq.map { view($0.pointee.name) } ?? .init(start: nil, count: 0) }
    /// Comment bytes of the current record (borrowed).
    public var currentComment: UnsafeBufferPointer<UInt8> { seq.map { view($0.pointee.comment) } ?? .init(start: nil, count: 0) }
    /// Bases of the current record (borrowed).
    public var currentSequence: UnsafeBufferPointer<UInt8> { seq.map { view($0.pointee.seq) } ?? .init(start: nil, count: 0) }
    /// Qualities of the current record (borrowed); `nil` for FASTA.
    public var currentQualities: UnsafeBufferPointer<UInt8>? {
        guard let seq, currentIsFASTQ else { return nil }
        return view(seq.pointee.qual)
    }

    /// kseq leaves `qual` empty both for FASTA and for an empty FASTQ record, so how the
    /// record ended decides.
    private var currentIsFASTQ = false
    /// '>' or '@': the first record's header character, which fixes what records must hold.
    private var firstHeader: Int32 = 0

    private var compressionWord: String {
        switch detected.compression {
        case .gzip: return "gzip"
        case .bgzf: return "BGZF"
        default: return "input"
        }
    }
}

/// Borrowed bytes of a kstring.
@inline(__always)
func view(_ s: kstring_t) -> UnsafeBufferPointer<UInt8> {
    guard let p = s.s else { return UnsafeBufferPointer(start: nil, count: 0) }
    return UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: Int(s.l))
}

/// Removes `\r` bytes in place. kseq drops a `\r` only at the very end of a line it reads as
/// a whole; multi-line records keep the inner ones.
@inline(__always)
func stripCarriageReturns(_ s: inout kstring_t) {
    guard let base = s.s, s.l > 0 else { return }
    let n = Int(s.l)
    guard let first = memchr(base, 0x0D, n) else { return }
    let bytes = UnsafeMutableRawPointer(base).assumingMemoryBound(to: UInt8.self)
    var w = UnsafeMutableRawPointer(first).assumingMemoryBound(to: UInt8.self) - bytes
    for r in w..<n where bytes[r] != 0x0D {
        bytes[w] = bytes[r]
        w += 1
    }
    s.l = w
    bytes[w] = 0
}

func describe(byte c: Int32) -> String {
    if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(UInt8(c))))'" }
    return "byte 0x" + String(c, radix: 16)
}
