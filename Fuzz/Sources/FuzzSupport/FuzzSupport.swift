import Foundation
import CFuzzSupport

/// The bytes of one fuzz input.
public typealias FuzzInput = UnsafeBufferPointer<UInt8>

/// Runs `body` and treats a thrown error as a handled input: only crashes, traps and sanitizer reports are
/// findings. Returns libFuzzer's "keep going" value. With `MAMBA_FUZZ_VERBOSE` set, each error is printed to
/// stderr (to check what a seed reaches: `MAMBA_FUZZ_VERBOSE=1 fuzz-motifs -runs=0 Fixtures/fuzz/motifs`).
public func fuzzReturn(_ body: () throws -> Void) -> CInt {
    do { try body() } catch {
        if verbose { FileHandle.standardError.write(Data("error: \(error)\n".utf8)) }
    }
    return 0
}

private let verbose = ProcessInfo.processInfo.environment["MAMBA_FUZZ_VERBOSE"] != nil

/// A private scratch folder for this process, in /dev/shm when there is one (inputs are written as files
/// because the readers take paths, as the command line does).
public enum Scratch {
    public static let directory: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        var template = Array((base + "/mamba-dna-fuzz.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("cannot create a scratch folder in \(base)") }
        let path = String(cString: made)
        atexit { try? FileManager.default.removeItem(atPath: Scratch.directory) }
        return path
    }()

    /// `name` inside the scratch folder.
    public static func path(_ name: String) -> String { directory + "/" + name }

    /// A fresh, empty folder `name` inside the scratch folder.
    public static func emptyFolder(_ name: String) -> String {
        let p = path(name)
        try? FileManager.default.removeItem(atPath: p)
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}

/// How a harness writes its input: the first byte picks the packing, the rest is the content.
public enum Packing: UInt8 {
    /// The content as it is (compressed inputs then reach the decompressor's error paths).
    case raw = 0
    /// The content through gzip.
    case gzip = 1
    /// The content through BGZF (bgzip, BAM).
    case bgzf = 2

    /// Splits `data` into its packing (byte 0; unknown values read as raw) and content.
    public static func split(_ data: FuzzInput) -> (Packing, FuzzInput) {
        guard let first = data.first else { return (.raw, data) }
        return (Packing(rawValue: first) ?? .raw, FuzzInput(rebasing: data.dropFirst()))
    }
}

/// Writes `bytes` to `path`, packed as asked. Returns false when the file could not be written.
@discardableResult
public func write(_ bytes: FuzzInput, to path: String, packing: Packing = .raw) -> Bool {
    let base = bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!
    switch packing {
    case .raw:
        return FileManager.default.createFile(atPath: path, contents: Data(bytes))
    case .gzip:
        return fuzz_write_gzip(path, base, bytes.count) == 0
    case .bgzf:
        return fuzz_write_bgzf(path, base, bytes.count) == 0
    }
}

/// Splits `data` in two: a 2-byte little-endian length `n`, then `n` bytes (clipped to what there is) of the
/// first part; the rest is the second part.
public func splitTwo(_ data: FuzzInput) -> (FuzzInput, FuzzInput) {
    guard data.count >= 2 else { return (FuzzInput(rebasing: data[0..<0]), FuzzInput(rebasing: data[...])) }
    let n = min(Int(data[0]) | Int(data[1]) << 8, data.count - 2)
    return (FuzzInput(rebasing: data[2..<(2 + n)]), FuzzInput(rebasing: data[(2 + n)...]))
}

/// The input bytes as `Data` on the heap (so that AddressSanitizer sees reads past its end).
public func heapData(_ bytes: FuzzInput) -> Data { Data(bytes) }

/// Hands the process to libFuzzer's driver with `fuzzOne` (a harness's `LLVMFuzzerTestOneInput`) and exits with
/// its status. Called from each harness's `main.swift`: SwiftPM links an executable's top-level code as `main`
/// under a renamed symbol, so libFuzzer's own `main` is not the entry point.
public func runFuzzer(_ fuzzOne: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
}
