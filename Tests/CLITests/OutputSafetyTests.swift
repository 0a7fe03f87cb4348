import Foundation
import XCTest

/// What `-o` points at is never destroyed: devices and FIFOs are written through, a symbolic link keeps pointing
/// where it did, an input named as the output is refused before reading, and an interrupted run leaves neither
/// a partial output nor a temporary file.
final class OutputSafetyTests: XCTestCase {
    let reads = CLIRunner.repository.appendingPathComponent("Fixtures/demo/species_reads.fa").path

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("output-safety-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// The classify table written to stdout, for comparison.
    func table() throws -> String {
        let r = try CLIRunner.run(["classify", reads])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout
    }

    func testDevNullStaysADevice() throws {
        let r = try CLIRunner.run(["classify", reads, "-o", "/dev/null"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var st = stat()
        XCTAssertEqual(stat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR)
    }

    func testSymlinkKeepsItsTargetAndTheTargetGetsTheOutput() throws {
        let dir = try temporaryDirectory()
        let target = dir.appendingPathComponent("target.tsv").path, link = dir.appendingPathComponent("link.tsv").path
        try "old\n".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.tsv")
        let r = try CLIRunner.run(["classify", reads, "-o", link])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "target.tsv")
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), try table())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["link.tsv", "target.tsv"])
    }

    func testFifoReaderGetsTheOutput() throws {
        let dir = try temporaryDirectory()
        let fifo = dir.appendingPathComponent("pipe").path, copy = dir.appendingPathComponent("copy.tsv").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let r = try CLIRunner.runShell("cat '\(fifo)' > '\(copy)' & \"$MAMBA_DNA\" classify '\(reads)' -o '\(fifo)'; s=$?; wait; exit $s")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: copy, encoding: .utf8), try table())
        var st = stat()
        XCTAssertEqual(lstat(fifo, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)
    }

    func testOutputThatIsAnInputIsRefused() throws {
        let dir = try temporaryDirectory()
        let input = dir.appendingPathComponent("reads.fa").path
        try FileManager.default.copyItem(atPath: reads, toPath: input)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        for args in [["classify", input, "-o", input],
                     ["embed", "--model", CLIRunner.repository.appendingPathComponent("Fixtures/reference/mamba_lm").path,
                      "--pool", "mean", input, "-o", input]] {
            let r = try CLIRunner.run(args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: input)), before)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["reads.fa"])
    }

    /// SIGTERM while `embed` writes: the run ends by that signal, and no output or temporary file is left.
    func testInterruptedRunLeavesNothingBehind() throws {
        let dir = try temporaryDirectory()
        let fasta = dir.appendingPathComponent("long.fa").path
        var rng = SystemRandomNumberGenerator()
        let bases = String((0..<100_000).map { _ in "ACGT".randomElement(using: &rng)! })
        try ">long\n\(bases)\n".write(toFile: fasta, atomically: false, encoding: .utf8)
        let out = dir.appendingPathComponent("emb.tsv").path
        let model = CLIRunner.repository.appendingPathComponent("Fixtures/reference/mamba_lm").path
        // Waits (at most 20 s) for the temporary output to appear, then sends SIGTERM; exits with embed's status.
        let script = """
            "$MAMBA_DNA" embed --model '\(model)' --per-base '\(fasta)' -o '\(out)' & pid=$!
            i=0; while [ ! -e '\(dir.path)/.emb.tsv.tmp-'$pid ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
            kill -TERM $pid; wait $pid
            """
        let r = try CLIRunner.runShell(script)
        XCTAssertEqual(r.status, 128 + SIGTERM, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["long.fa"])
    }

    /// `annotate` on a file that is not an alignment (random bytes named .bam, or reads): exit 1, no output.
    func testAnnotateRefusesNonAlignmentInput() throws {
        let dir = try temporaryDirectory()
        let garbage = dir.appendingPathComponent("random.bam").path
        var rng = SystemRandomNumberGenerator()
        try Data((0..<2000).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: URL(fileURLWithPath: garbage))
        let ref = CLIRunner.repository.appendingPathComponent("Fixtures/variants/ref.fa").path
        for input in [garbage, reads, "-"] {
            let out = dir.appendingPathComponent("calls.vcf").path
            let r = try CLIRunner.run(["annotate", input, "-f", ref, "-o", out])
            XCTAssertEqual(r.status, 1, "\(input): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }

    /// One rule for a missing folder in `-o`, whatever the command: refused, and nothing is created.
    func testMissingOutputFolderIsRefused() throws {
        let dir = try temporaryDirectory()
        let fasta = dir.appendingPathComponent("reads.fa").path
        try FileManager.default.copyItem(atPath: reads, toPath: fasta)
        for (args, out) in [(["classify", fasta], "a/b/out.tsv"),
                            (["train", fasta, "--label-key", "species", "--steps", "1", "--d-model", "16", "--layers", "1",
                              "--d-state", "4"], "c/d/model")] {
            let r = try CLIRunner.run(args + ["-o", dir.appendingPathComponent(out).path])
            XCTAssertEqual(r.status, 1, "\(args[0]): \(r.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["reads.fa"])
    }

    /// The progress line is drawn only on a terminal (here a pseudo-terminal from util-linux `script`), and
    /// `--quiet` or a redirected stderr turns it off; the results are the same either way.
    func testProgressLineOnlyOnATerminal() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("calls.tsv").path
        let onTTY = try CLIRunner.runShell("script -qec '\"$MAMBA_DNA\" classify \(reads) -o \(out)' /dev/null")
        XCTAssertEqual(onTTY.status, 0, onTTY.stderr)
        // (A terminal turns every "\n" into "\r\n": the progress line is the "\r" followed by erase-line.)
        XCTAssertTrue(onTTY.stdout.contains("\r\u{1B}[K"), "no progress line on a terminal")
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), try table())
        let quiet = try CLIRunner.runShell("script -qec '\"$MAMBA_DNA\" classify --quiet \(reads) -o \(out)' /dev/null")
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertFalse(quiet.stdout.contains("\r\u{1B}[K"), "progress line despite --quiet")
        let piped = try CLIRunner.run(["classify", reads, "-o", out])
        XCTAssertFalse(piped.stderr.contains("\r"), "progress line on a redirected stderr")
    }
}
