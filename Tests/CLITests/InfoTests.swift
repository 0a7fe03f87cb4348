import Foundation
import XCTest

/// `mamba-dna info` run as a subprocess: output lines and error messages.
final class InfoTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/seqio")
    func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// stdout's `key<TAB>value` lines as a dictionary (first occurrence of each key).
        var fields: [String: String] {
            var out: [String: String] = [:]
            for line in stdout.split(separator: "\n") {
                let parts = line.split(separator: "\t", maxSplits: 1)
                if parts.count == 2, out[String(parts[0])] == nil { out[String(parts[0])] = String(parts[1]) }
            }
            return out
        }
    }

    /// Runs `mamba-dna info ARGS`, or a shell line where `$MAMBA_DNA` is the binary.
    func run(_ arguments: [String], shell: String? = nil) throws -> Result {
        let r = try shell.map { try CLIRunner.runShell($0) } ?? CLIRunner.run(["info"] + arguments)
        return Result(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("info-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    // MARK: - summaries

    func testFastaSummary() throws {
        let r = try run([fixture("multi.fa")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let f = r.fields
        XCTAssertEqual(f["format"], "FASTA")
        XCTAssertEqual(f["compression"], "none")
        XCTAssertEqual(f["records"], "4")
        XCTAssertEqual(f["bases"], "49")
        XCTAssertEqual(f["N50"], "15")
        XCTAssertEqual(f["gc_fraction"], "0.6471")   // 22 / 34
    }

    func testFastqGzipBgzfAndStdin() throws {
        for name in ["reads.fq", "reads.fq.gz", "reads.fq.bgz"] {
            let r = try run([fixture(name)])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.fields["format"], "FASTQ")
            XCTAssertEqual(r.fields["records"], "52")
            XCTAssertEqual(r.fields["compression"], ["reads.fq": "none", "reads.fq.gz": "gzip", "reads.fq.bgz": "bgzf"][name])
        }
        let piped = try run([], shell: "cat '\(fixture("reads.fq.gz"))' | \"$MAMBA_DNA\" info -")
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(piped.fields["records"], "52")
        XCTAssertEqual(piped.fields["compression"], "gzip")
        XCTAssertEqual(piped.fields["file"], "-")
    }

    func testAlignmentSummaries() throws {
        for (name, format) in [("aln.bam", "BAM"), ("aln.sam", "SAM"), ("aln.cram", "CRAM")] {
            let r = try run([fixture(name), "--reference", fixture("ref.fa")])
            XCTAssertEqual(r.status, 0, r.stderr)
            let f = r.fields
            XCTAssertEqual(f["format"], format)
            XCTAssertEqual(f["records"], "222")
            XCTAssertEqual(f["mapped"], "220")
            XCTAssertEqual(f["unmapped"], "2")
            XCTAssertEqual(f["contigs"], "3")
            XCTAssertEqual(f["index"], name == "aln.sam" ? "no" : "yes")
            XCTAssertTrue(r.stdout.contains("contig\tchr1\t3000\n"), r.stdout)
        }
        let piped = try run([], shell: "\"$MAMBA_DNA\" info - < '\(fixture("aln.bam"))'")
        XCTAssertEqual(piped.fields["records"], "222", piped.stderr)
    }

    func testModelDirectory() throws {
        let dir = try temporaryDirectory()
        try #"{"d_model": 128, "n_layer": 4, "vocab_size": 16, "ssm_cfg": {"d_state": 16}}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try Data(count: 8).write(to: dir.appendingPathComponent("model.safetensors"))
        let r = try run([dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.fields["kind"], "model directory")
        XCTAssertEqual(r.fields["d_model"], "128")
        XCTAssertEqual(r.fields["layers"], "4")
        XCTAssertEqual(r.fields["d_state"], "16")
        XCTAssertEqual(r.fields["model"], "encoder")
        XCTAssertTrue(r.stdout.contains("file\tmodel.safetensors\t8"), r.stdout)
        XCTAssertFalse(r.stdout.contains("{"), "the summary holds no raw JSON")
        // --json: the config as it is.
        let raw = try run(["--json", dir.path])
        XCTAssertEqual(raw.status, 0, raw.stderr)
        XCTAssertTrue(raw.stdout.contains("\"d_model\" : 128"), raw.stdout)
        XCTAssertTrue(raw.stdout.contains("\"d_state\" : 16"), raw.stdout)
        // How this machine runs it: the default precision and what bf16 runs as here (fp32 where bf16 is hidden).
        XCTAssertTrue(["fp32", "bf16"].contains(r.fields["precision_default"] ?? ""), r.stdout)
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if cpuinfo.contains(" avx512_bf16") || cpuinfo.contains(" amx_bf16") {
            XCTAssertEqual(r.fields["precision_bf16"]?.hasPrefix("bf16 ("), true, r.stdout)
        }
        let hidden = try CLIRunner.run(["info", dir.path], environment: ["MAMBA_DNA_NO_BF16": "1"])
        XCTAssertEqual(hidden.status, 0)
        XCTAssertEqual(hidden.stdout.split(separator: "\n").first { $0.hasPrefix("precision_bf16\t") }?.hasPrefix("precision_bf16\tfp32"), true)
    }

    /// A bundled classifier: its classes (from config.json), its k-mer add-on and its training (from its files).
    func testClassifierDirectorySummary() throws {
        let dir = CLIRunner.repository.appendingPathComponent("Fixtures/models/species")
        let r = try run([dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as? [String: Any])
        let labels = try XCTUnwrap(config["labels"] as? [String])
        XCTAssertEqual(r.fields["model"], "sequence classifier")
        XCTAssertEqual(r.fields["classes"], "\(labels.count): " + labels.joined(separator: ", "))
        XCTAssertEqual(r.fields["add_ons"]?.contains("k-mer sketch"), true)
        // Its training run: training_summary.json as `train` writes it, or `fine_tuning` in config.json for a classifier
        // fine-tuned on a GPU (scripts/pretrain/gpu-finetune).
        let summaryFile = dir.appendingPathComponent("training_summary.json")
        let run = try FileManager.default.fileExists(atPath: summaryFile.path)
            ? XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: summaryFile)) as? [String: Any])
            : XCTUnwrap(config["fine_tuning"] as? [String: Any])
        XCTAssertEqual(r.fields["training_steps"], "\(try XCTUnwrap(run["steps"] as? Int))")
        if let initial = (config["fine_tuning"] as? [String: Any])?["init"] as? String {
            XCTAssertEqual(r.fields["fine_tuned_from"], initial)
        }
        // The default --confidence, from calibration.json.
        let calibration = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("calibration.json"))) as? [String: Any])
        let threshold = try XCTUnwrap(calibration["threshold"] as? Double)
        let shown = try XCTUnwrap(r.fields["confidence_threshold"]?.split(separator: " ").first.flatMap { Double($0) })
        XCTAssertEqual(shown, threshold, accuracy: threshold * 1e-5)
    }

    // MARK: - bad input: one line on stderr naming the file and the problem, exit status 1

    func testBadInputTable() throws {
        let dir = try temporaryDirectory()
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        // Inputs large enough to span several gzip/BGZF blocks, then cut.
        var fastq = ""
        var state: UInt64 = 7
        func letter(_ alphabet: [Character]) -> Character {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return alphabet[Int(state >> 33) % alphabet.count]
        }
        for i in 0..<3000 {
            let n = 90 + i % 20
            fastq += "@r\(i)\n\(String((0..<n).map { _ in letter(["A", "C", "G", "T"]) }))\n+\n"
            fastq += "\(String((0..<n).map { _ in letter(["#", "5", "?", "F", "I"]) }))\n"
        }
        try fastq.write(toFile: path("big.fq"), atomically: true, encoding: .utf8)
        let make = try run([], shell: """
            cd '\(dir.path)' && gzip -c big.fq > big.fq.gz && bgzip -c big.fq > big.fq.bgz && \
            head -c $(( $(stat -c %s big.fq.gz) / 2 )) big.fq.gz > cut.fq.gz && \
            head -c $(( $(stat -c %s big.fq.bgz) / 2 )) big.fq.bgz > cut.fq.bgz && \
            head -c 12000 '\(fixture("aln.bam"))' > cut.bam && head -c 9000 '\(fixture("aln.cram"))' > cut.cram && \
            mkdir notamodel
            """)
        XCTAssertEqual(make.status, 0, make.stderr)

        let table: [(String, [String])] = [
            (path("cut.fq.gz"), ["truncated or corrupt gzip"]),
            (path("cut.fq.bgz"), ["truncated BGZF"]),
            (path("cut.bam"), ["truncated BAM"]),
            (path("cut.cram"), ["truncated CRAM"]),
            (fixture("qual-mismatch.fq"), ["'bad'", "quality length 4 differs from sequence length 8"]),
            (fixture("no-header.fa"), ["not FASTA/FASTQ", "expected '>' or '@'"]),
            (path("missing.fa"), ["cannot open", "No such file"]),
            (path("notamodel"), ["without config.json"]),
        ]
        for (file, words) in table {
            let r = try run([file])
            XCTAssertEqual(r.status, 1, "\(file): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", file)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "expected one stderr line for \(file), got: \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("mamba-dna: \(file): "), r.stderr)
            for w in words { XCTAssertTrue(r.stderr.contains(w), "'\(w)' missing in: \(r.stderr)") }
        }
    }

    func testUnreadableFile() throws {
        let dir = try temporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        let file = dir.appendingPathComponent("secret.fa")
        try ">a\nACGT\n".write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: file.path)
        // Permission bits do not stop root, so as root a copy of the binary (the build folder may not be
        // reachable for other users) runs as `nobody` (util-linux setpriv).
        let copy = dir.appendingPathComponent("mamba-dna").path
        let r = getuid() == 0
            ? try run([], shell: "cp \"$MAMBA_DNA\" '\(copy)' && setpriv --reuid=65534 --regid=65534 --clear-groups '\(copy)' info '\(file.path)'")
            : try run([file.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("mamba-dna: \(file.path): cannot open: Permission denied"), r.stderr)
    }

    /// A full disk on stdout (`/dev/full`) is a clean failure (exit 1), not a crash (a trap exits 132), for the commands
    /// that write tables to stdout.
    func testFullStandardOutputFailsCleanly() throws {
        let reads = CLIRunner.repository.appendingPathComponent("Fixtures/demo/species_reads.fa").path
        for command in ["info '\(reads)'", "classify '\(reads)'"] {
            let r = try CLIRunner.runShell("\"$MAMBA_DNA\" \(command) > /dev/full")
            XCTAssertEqual(r.status, 1, "\(command): \(r.stderr)")
        }
    }
}
