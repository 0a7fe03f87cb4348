import Foundation
import XCTest

/// Every command's `--help`, compared as text with the reviewed copies in `HelpText/`.
/// After a deliberate change to the interface, `scripts/update-help-text` rewrites them.
final class HelpTextTests: XCTestCase {
    static let commands = ["", "info", "embed", "classify", "annotate", "merge", "train", "bench"]
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("HelpText")

    func testHelpTextOfEveryCommand() throws {
        for command in Self.commands {
            let name = command.isEmpty ? "mamba-dna" : command
            let result = try CLIRunner.run((command.isEmpty ? [] : [command]) + ["--help"], environment: ["COLUMNS": "100"])
            XCTAssertEqual(result.status, 0, "\(name) --help: \(result.stderr)")
            let expected = try String(contentsOf: Self.directory.appendingPathComponent("\(name).txt"), encoding: .utf8)
            XCTAssertEqual(result.stdout, expected, "\(name) --help differs from HelpText/\(name).txt")
        }
    }

    /// Each subcommand is listed in the top-level help with its one-line summary.
    func testTopLevelHelpListsEverySubcommand() throws {
        let result = try CLIRunner.run(["--help"], environment: ["COLUMNS": "100"])
        for command in Self.commands where !command.isEmpty {
            XCTAssertTrue(result.stdout.contains("  \(command) "), "top-level help lacks \(command)")
        }
    }

    /// Each subcommand's help starts from its usage line and offers -h/--help.
    func testHelpMentionsUsageAndOptions() throws {
        for command in Self.commands where !command.isEmpty {
            let result = try CLIRunner.run([command, "--help"], environment: ["COLUMNS": "100"])
            XCTAssertTrue(result.stdout.contains("USAGE: mamba-dna \(command)"), "\(command): no usage line")
            XCTAssertTrue(result.stdout.contains("-h, --help"), "\(command): no --help line")
        }
    }

    func testUnknownOptionIsAUsageError() throws {
        let result = try CLIRunner.run(["info", "--no-such-option", "x"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--no-such-option"), result.stderr)
    }
}
