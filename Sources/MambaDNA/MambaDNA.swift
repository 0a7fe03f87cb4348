import ArgumentParser
import DNATasks
import FileOutput
import Foundation
import MambaModel

@main
struct MambaDNA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mamba-dna",
        abstract: "Mamba sequence models on DNA, on the CPU.",
        discussion: """
        Reads FASTA/FASTQ (plain, gzip, BGZF) and SAM/BAM/CRAM through htslib and runs
        Mamba / Caduceus encoders over the bases.

        Regions are samtools-style: chr, chr:beg, chr:beg-end (1-based, inclusive),
        {name}:beg-end for names with colons. Input `-` is stdin.
        """,
        version: ToolVersion.current,
        subcommands: [Info.self, Embed.self, Classify.self, Annotate.self, Merge.self, Train.self, Bench.self]
    )

    /// OpenBLAS must pick its AVX-512 kernels before any product runs (see `BLASRuntime`).
    static func main() {
        BLASRuntime.useOptimizedKernels()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// Writes `text` to stdout whole, or fails with one line naming the reason (a full disk, a closed pipe).
func writeStandardOutput(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { fail("stdout: write failed: \(String(cString: strerror(errno)))") }
        bytes = bytes.dropFirst(n)
    }
}

/// After output written with `print`: flushes stdout and fails with one line if any of it was not written.
func finishStandardOutput() {
    if fflush(stdout) != 0 || ferror(stdout) != 0 {
        fail("stdout: write failed: \(String(cString: strerror(errno)))")
    }
}

/// Prints a one-line error on stderr and exits with `code`.
func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("mamba-dna: \(message)\n".utf8))
    exit(code)
}

/// Fails with the error's one line (Foundation's file errors as "PATH: reason", see `ErrorText`).
func fail(_ error: Error, code: Int32 = 1) -> Never {
    fail(ErrorText.describe(error), code: code)
}

/// For commands that exist in the interface but are not built yet: one line, exit status 2.
func notYetBuilt(_ command: String) -> Never {
    fail("'\(command)' is not available in this version yet", code: 2)
}
