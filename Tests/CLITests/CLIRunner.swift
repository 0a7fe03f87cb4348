import Foundation
import XCTest

/// Runs the built `mamba-dna` as a subprocess, as a user would.
enum CLIRunner {
    struct Result {
        var status: Int32
        var output: Data
        var stderr: String
        var stdout: String { String(decoding: output, as: UTF8.self) }
    }

    /// The repository root (for `Fixtures/`).
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built `mamba-dna`, next to the test bundle in whichever build folder is in use.
    static let binary: URL? = {
        final class Anchor {}
        let candidates = [Bundle(for: Anchor.self).bundleURL.deletingLastPathComponent(),
                          Bundle(for: Anchor.self).bundleURL,
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for dir in candidates.map(\.standardizedFileURL) {
            let url = dir.appendingPathComponent("mamba-dna")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }()

    /// Runs `mamba-dna ARGS` with extra environment variables; stdout and stderr are captured whole.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        guard let binary else { return missingBinary() }
        return try launch(binary, arguments, environment: environment)
    }

    /// Asserts a clean failure, by values rather than wording: exit status ≠ 0, exactly one error line on stderr
    /// (`mamba-dna: …`, or the argument parser's `Error: …`), naming every one of `names` (the file, option, read, contig or value the problem is about), and no entry
    /// of `directory` whose name contains `leftover` (the output, or its temporary, was not left behind).
    static func assertFailedCleanly(_ r: Result, naming names: [String], in directory: URL? = nil, leftover: String? = nil,
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNotEqual(r.status, 0, file: file, line: line)
        // Error lines start "mamba-dna:" (progress and notes before the failure name their command: "mamba-dna train:").
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("mamba-dna:") || $0.hasPrefix("Error:") }
        XCTAssertEqual(lines.count, 1, r.stderr, file: file, line: line)
        for name in names {
            XCTAssertTrue(r.stderr.contains(name), "the error line does not name '\(name)': \(r.stderr)", file: file, line: line)
        }
        if let directory, let leftover {
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(leftover) }
            XCTAssertEqual(left, [], file: file, line: line)
        }
    }

    /// A tool the tests compare against, from the system's packages (`scripts/setup` installs them).
    static func tool(_ name: String) throws -> URL {
        for dir in ["/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"] {
            let url = URL(fileURLWithPath: dir).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        struct Missing: Error, CustomStringConvertible { var description: String }
        throw Missing(description: "\(name) is not installed: run scripts/setup --deps-only")
    }

    /// Runs a `/bin/sh -c` line in which `$MAMBA_DNA` is the binary (for pipes and redirections).
    static func runShell(_ line: String) throws -> Result {
        guard let binary else { return missingBinary() }
        return try launch(URL(fileURLWithPath: "/bin/sh"), ["-c", line], environment: ["MAMBA_DNA": binary.path])
    }

    private static func missingBinary() -> Result {
        XCTFail("mamba-dna binary not found next to the test bundle (build the package first)")
        return Result(status: -1, output: Data(), stderr: "")
    }

    /// Runs another program (e.g. bcftools) the same way.
    static func launch(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let tmp = FileManager.default.temporaryDirectory
        let outFile = tmp.appendingPathComponent("cli-out-\(UUID().uuidString)")
        let errFile = tmp.appendingPathComponent("cli-err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outFile)
            try? FileManager.default.removeItem(at: errFile)
        }
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        process.standardError = try FileHandle(forWritingTo: errFile)
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      output: (try? Data(contentsOf: outFile)) ?? Data(),
                      stderr: (try? String(contentsOf: errFile, encoding: .utf8)) ?? "")
    }
}
