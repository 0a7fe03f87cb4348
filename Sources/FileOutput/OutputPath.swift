import Foundation

/// Why an output could not be written, rendered `PATH: REASON` as every command reports file errors.
public struct OutputError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public init(_ path: String, _ reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }

    /// `PATH: WHAT: strerror(errno)`.
    static func system(_ path: String, _ what: String) -> OutputError {
        OutputError(path, "\(what): \(String(cString: strerror(errno)))")
    }
}

/// The destination of one output, and how it is written without destroying what is there:
/// - a new name or a regular file: written under a hidden temporary sibling (`.NAME.tmp-PID`) that `commit`
///   renames over it, so a failed or interrupted run leaves the old file, or none;
/// - a symbolic link: the same for the file it points to, so the link keeps pointing where it did;
/// - `-` (stdout), a character device (`/dev/null`) or a FIFO: written directly; nothing is renamed over them;
/// - a directory output (`Kind.directory`, a model or checkpoint directory): a temporary sibling directory that
///   `commit` swaps in for the old one;
/// - anything else (a file where a directory is expected, a socket), a destination whose folder does not exist,
///   or a file that is also one of the run's inputs: refused before anything is read or written.
/// Temporary files and directories are removed by `abandon`, and on SIGINT, SIGTERM or SIGHUP.
public final class OutputPath {
    public enum Kind: Sendable { case file, directory }

    /// The path as the user gave it.
    public let path: String
    /// What `commit` replaces: `path`, or the file a symbolic link at `path` points to.
    public let destination: String
    /// Where to write: the temporary sibling, or `destination` itself when written directly.
    public let writePath: String
    public let kind: Kind
    /// Stdout (`-`).
    public var isStandardOutput: Bool { path == "-" }
    /// Written in place (stdout, a device, a FIFO): nothing to rename.
    public let isDirect: Bool
    private var companions: [(tmp: String, final: String)] = []
    private var done = false

    /// Resolves `path` and checks it against `inputs` (paths of files this run reads; `-` and missing ones are
    /// ignored). Creates nothing.
    /// - Throws: `OutputError` for a destination that cannot be written this way or is also an input.
    public init(_ path: String, kind: Kind = .file, inputs: [String] = []) throws {
        self.path = path
        self.kind = kind
        (destination, isDirect) = try Self.resolve(path, kind: kind, inputs: inputs)
        writePath = isDirect ? destination : Self.sibling(of: destination, tag: "tmp")
        if !isDirect {
            OutputCleanup.remove(writePath)  // left by an earlier run that had this process id and was killed
            OutputCleanup.shared.register(writePath)
        }
    }

    /// Checks `path` as `init` does, without claiming a temporary name: for outputs opened only after the
    /// input has been read, so that a refused destination fails the run before any work.
    public static func validate(_ path: String, kind: Kind = .file, inputs: [String] = []) throws {
        _ = try resolve(path, kind: kind, inputs: inputs)
    }

    /// (what commit replaces, whether it is written in place).
    private static func resolve(_ path: String, kind: Kind, inputs: [String]) throws -> (String, Bool) {
        if path == "-" {
            guard kind == .file else { throw OutputError(path, "a directory output cannot go to stdout") }
            return (path, true)
        }
        var st = stat()
        var target = path
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK {
            // The link stays; the file it points to is replaced (or created, for a dangling link).
            guard let resolved = resolveLink(path) else { throw OutputError.system(path, "cannot follow the link") }
            target = resolved
        }
        let exists = stat(target, &st) == 0
        if !exists && errno != ENOENT { throw OutputError.system(path, "cannot write") }
        guard exists else {
            // One rule for every command, files and model directories alike: the folder must exist (as for
            // samtools and bcftools); nothing creates missing parents.
            let slash = target.lastIndex(of: "/")
            let parent = slash.map { $0 == target.startIndex ? "/" : String(target[..<$0]) } ?? "."
            var pst = stat()
            guard stat(parent, &pst) == 0, (pst.st_mode & S_IFMT) == S_IFDIR else {
                throw OutputError(path, "the folder \(parent) does not exist")
            }
            return (target, false)
        }
        for input in inputs where input != "-" {
            var ist = stat()
            if stat(input, &ist) == 0 && ist.st_dev == st.st_dev && ist.st_ino == st.st_ino {
                throw OutputError(path, "is also an input of this run; refusing to overwrite it")
            }
        }
        switch (kind, st.st_mode & S_IFMT) {
        case (.file, S_IFCHR), (.file, S_IFIFO): return (target, true)
        case (.file, S_IFREG), (.directory, S_IFDIR): return (target, false)
        case (.file, S_IFDIR): throw OutputError(path, "is a directory")
        case (.directory, _): throw OutputError(path, "exists and is not a directory")
        default: throw OutputError(path, "is not a regular file, device or FIFO")
        }
    }

    /// A temporary path for a file published beside the output under `destination + suffix` (an index), renamed
    /// into place by `commit` before the output itself.
    public func companion(suffix: String) -> String {
        let tmp = writePath + suffix
        companions.append((tmp, destination + suffix))
        OutputCleanup.shared.register(tmp)
        return tmp
    }

    /// Publishes the output: renames the temporary file (and its companions) over the destination; for a
    /// directory, swaps the new one in and removes the old. Nothing to do for direct outputs.
    /// - Throws: `OutputError`; the temporary files are removed then.
    public func commit() throws {
        guard !done else { return }
        done = true
        if isDirect { return }
        do {
            for c in companions {
                guard rename(c.tmp, c.final) == 0 else { throw OutputError.system(c.final, "cannot move into place") }
                OutputCleanup.shared.unregister(c.tmp)
            }
            if kind == .directory {
                let old = Self.sibling(of: destination, tag: "old")
                var st = stat()
                let hadOld = stat(destination, &st) == 0
                if hadOld { guard rename(destination, old) == 0 else { throw OutputError.system(path, "cannot replace") } }
                guard rename(writePath, destination) == 0 else {
                    let e = OutputError.system(path, "cannot move into place")
                    if hadOld { rename(old, destination) }
                    throw e
                }
                if hadOld { try? FileManager.default.removeItem(atPath: old) }
            } else {
                guard rename(writePath, destination) == 0 else { throw OutputError.system(path, "cannot move into place") }
            }
            OutputCleanup.shared.unregister(writePath)
        } catch {
            for c in companions { unlink(c.final) }
            removeTemporaries()
            throw error
        }
    }

    /// Removes the temporary output without publishing it (after a failure).
    public func abandon() {
        guard !done else { return }
        done = true
        if !isDirect { removeTemporaries() }
    }

    private func removeTemporaries() {
        for c in companions { OutputCleanup.remove(c.tmp); OutputCleanup.shared.unregister(c.tmp) }
        OutputCleanup.remove(writePath)
        OutputCleanup.shared.unregister(writePath)
    }

    /// `.NAME.TAG-PID` beside `path`.
    static func sibling(of path: String, tag: String) -> String {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(dir).\(name).\(tag)-\(getpid())"
    }

    /// The final target of a chain of symbolic links (relative targets taken from each link's folder), or nil.
    static func resolveLink(_ path: String) -> String? {
        var current = path
        for _ in 0..<40 {
            var st = stat()
            guard lstat(current, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK else { return current }
            guard let next = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return nil }
            if next.hasPrefix("/") { current = next; continue }
            let slash = current.lastIndex(of: "/")
            current = (slash.map { String(current[...$0]) } ?? "") + next
        }
        return nil
    }
}

/// The temporary outputs alive in this process, removed if it is interrupted (SIGINT, SIGTERM, SIGHUP), after
/// which the signal takes its default course (the exit status says which signal ended the run). The handlers
/// are in place only while a temporary exists.
final class OutputCleanup: @unchecked Sendable {
    static let shared = OutputCleanup()
    private let lock = NSLock()
    private var paths: Set<String> = []
    private var sources: [DispatchSourceSignal] = []
    private var previous: [Int32: sighandler_t?] = [:]
    private let queue = DispatchQueue(label: "mamba-dna.output-cleanup")

    func register(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.insert(path)
        if sources.isEmpty { installHandlers() }
    }

    func unregister(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.remove(path)
        if paths.isEmpty { removeHandlers() }
    }

    static func remove(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR { try? FileManager.default.removeItem(atPath: path) } else { unlink(path) }
    }

    /// Called with `lock` held: the signals' earlier dispositions come back once no temporary is left, so a
    /// program using the library keeps its own signal handling outside the writing of an output.
    private func removeHandlers() {
        for source in sources { source.cancel() }
        sources.removeAll()
        for (sig, handler) in previous { signal(sig, handler) }
        previous.removeAll()
    }

    /// Called with `lock` held.
    private func installHandlers() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            previous[sig] = signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [unowned self] in
                lock.lock()
                for p in paths { Self.remove(p) }
                paths.removeAll()
                lock.unlock()
                signal(sig, SIG_DFL)
                kill(getpid(), sig)  // process-directed: dispatch threads block signals, so raise() here would not end the run
            }
            source.resume()
            sources.append(source)
        }
    }
}
