import Foundation

/// A file output written through `OutputPath`'s rules (temporary sibling renamed into place; stdout, devices
/// and FIFOs written directly), with a 1 MiB write buffer. `commit` publishes it, `abandon` discards it.
public final class OutputFile {
    public let output: OutputPath
    private let fd: Int32
    private var buffer: [UInt8] = []

    /// `path` as the user gave it (`-` = stdout); `inputs` as for `OutputPath`.
    /// - Throws: `OutputError` when the destination is refused or the file cannot be created.
    public init(_ path: String, inputs: [String] = []) throws {
        output = try OutputPath(path, inputs: inputs)
        if output.isStandardOutput {
            fd = STDOUT_FILENO
        } else {
            let flags = output.isDirect ? O_WRONLY : (O_WRONLY | O_CREAT | O_TRUNC)
            let fd = open(output.writePath, flags, 0o666)
            guard fd >= 0 else {
                let e = OutputError.system(path, "cannot create")
                output.abandon()
                throw e
            }
            self.fd = fd
        }
        buffer.reserveCapacity(1 << 20)
    }

    public var path: String { output.path }

    /// Writes `s` as UTF-8, with bytes that `ByteText.decode` escaped (read names that are not UTF-8) as they were.
    public func write(_ s: String) throws {
        ByteText.append(s, to: &buffer)
        if buffer.count >= 1 << 20 { try flush() }
    }

    public func write(bytes: UnsafeRawBufferPointer) throws {
        try flush()
        try writeAll(bytes)
    }

    public func write(_ data: Data) throws {
        try flush()
        try data.withUnsafeBytes { try writeAll($0) }
    }

    public func flush() throws {
        if buffer.isEmpty { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ b: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < b.count {
            let n = Foundation.write(fd, b.baseAddress! + off, b.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw OutputError.system(output.isStandardOutput ? "stdout" : path, "write failed")
            }
            off += n
        }
    }

    /// Overwrites `bytes` at byte `offset` of what was written so far (e.g. a header whose sizes are known only at
    /// the end). Only a regular file can be rewritten: stdout, devices and FIFOs are written straight through.
    /// - Throws: `OutputError` for a direct output or a failed write.
    public func rewrite(at offset: Int, _ bytes: [UInt8]) throws {
        guard !output.isDirect else {
            throw OutputError.system(output.isStandardOutput ? "stdout" : path, "cannot be rewritten (not a regular file)")
        }
        try flush()
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + off, bytes.count - off, off_t(offset + off)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw OutputError.system(path, "write failed")
            }
            off += n
        }
    }

    /// Writes what is buffered, closes the file and publishes it.
    /// - Throws: `OutputError`; nothing is left behind then.
    public func commit() throws {
        do {
            try flush()
            if !output.isStandardOutput {
                // fsync fails with EINVAL on devices and FIFOs, which is fine.
                guard fsync(fd) == 0 || errno == EINVAL || errno == EROFS else {
                    throw OutputError.system(path, "write failed")
                }
                guard close(fd) == 0 else { throw OutputError.system(path, "write failed") }
            }
        } catch {
            output.abandon()
            throw error
        }
        try output.commit()
    }

    /// Closes and removes the partial output.
    public func abandon() {
        if !output.isStandardOutput { close(fd) }
        output.abandon()
    }
}
