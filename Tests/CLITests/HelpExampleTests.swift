import Foundation
import XCTest

/// Every example command line in `--help` runs as written, in a folder holding files of the names the examples
/// use, made from the bundled fixtures. The examples train models and run benchmarks, which take minutes in a debug
/// build, so they run with the release binary `scripts/test` builds and names in `$MAMBA_DNA_RELEASE_BINARY`.
final class HelpExampleTests: XCTestCase {
    var work: URL!
    let repo = CLIRunner.repository
    var binary: URL!

    override func setUpWithError() throws {
        guard let path = ProcessInfo.processInfo.environment["MAMBA_DNA_RELEASE_BINARY"],
              FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("MAMBA_DNA_RELEASE_BINARY does not name the release binary: run scripts/test")
        }
        binary = URL(fileURLWithPath: path)
        work = FileManager.default.temporaryDirectory.appendingPathComponent("help-examples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// The example lines of one help text: indented lines before the usage line that run `mamba-dna`, with any
    /// trailing `# comment` removed.
    static func examples(in help: String) -> [String] {
        var lines: [String] = []
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("USAGE:") { break }
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { continue }
            var text = line.trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix("mamba-dna ") || text.contains("| mamba-dna ") else { continue }
            if let comment = text.range(of: #"\s+#\s.*$"#, options: .regularExpression) { text.removeSubrange(comment) }
            lines.append(text)
        }
        return lines
    }

    /// Runs `line` with bash in the work folder, `mamba-dna` on the PATH.
    func shell(_ line: String) throws -> CLIRunner.Result {
        let bin = binary.deletingLastPathComponent().path
        return try CLIRunner.launch(URL(fileURLWithPath: "/bin/bash"), ["-c", "set -eo pipefail; cd '\(work.path)' && " + line],
                                    environment: ["PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")])
    }

    /// The files the examples name: reads from the demo set (two per species; as read pairs, each read with its reverse
    /// complement as mate 2), the variant fixture with its contigs
    /// named chr1 and chr2, the motif fixtures and a Caduceus checkpoint.
    func makeInputs() throws {
        for tool in ["samtools", "bgzip", "tabix"] { _ = try CLIRunner.tool(tool) }
        let f = repo.appendingPathComponent("Fixtures").path
        let setup = """
        awk 'NR % 2 == 1 { keep = int((NR - 1) / 2) % 10 < 2 } keep' '\(f)/demo/species_reads.fa' > reads.fa
        for name in genome-reads.fa refs.fa validation.fa; do cp reads.fa "$name"; done
        awk 'NR % 2 == 1 { name = substr($1, 2); print "@" name; next } { print; print "+"; q = $0; gsub(/./, "I", q); print q }' \
            reads.fa | gzip -c > reads.fq.gz
        awk 'NR % 2 == 1 { name = substr($1, 2); next } { q = $0; gsub(/./, "I", q); print "@" name "/1"; print; print "+"; print q }' \
            reads.fa | gzip -c > reads_1.fq.gz
        paste <(grep '^>' reads.fa | cut -c2- | cut -d' ' -f1) <(grep -v '^>' reads.fa | rev | tr ACGT TGCA) \
            | awk '{ q = $2; gsub(/./, "I", q); print "@" $1 "/2"; print $2; print "+"; print q }' | gzip -c > reads_2.fq.gz
        awk 'NR % 2 == 1 { split($2, s, "="); print substr($1, 2) "\\t" s[2] }' reads.fa > labels.tsv
        sed 's/^>chrT/>chr1/; s/^>chrU/>chr2/' '\(f)/variants/ref.fa' > ref.fa && samtools faidx ref.fa
        samtools view -h '\(f)/variants/aln.bam' | sed 's/chrT/chr1/g; s/chrU/chr2/g' | samtools view -b -o aln.bam - && samtools index aln.bam
        samtools view -C -T ref.fa -o aln.cram aln.bam && samtools index aln.cram
        zcat '\(f)/variants/truth.vcf.gz' | sed 's/chrT/chr1/g; s/chrU/chr2/g' | bgzip -c > truth.vcf.gz && tabix -p vcf truth.vcf.gz
        sed 's/chrT/chr1/; s/chrU/chr2/' '\(f)/variants/regions.bed' > regions.bed
        cp '\(f)/motifs/seqs.fa' seqs.fa && cp '\(f)/motifs/small.jaspar' m.jaspar && cp '\(f)/motifs/small.meme' m.meme
        mkdir caduceus-ps-dir && cp '\(f)/reference/caduceus/caduceus_ps/config.json' '\(f)/reference/caduceus/caduceus_ps/model.safetensors' caduceus-ps-dir/
        """
        let r = try shell(setup)
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testEveryHelpExampleRuns() throws {
        try makeInputs()
        // Training first (its models are what later examples name), merging after the parts exist.
        var ran = 0
        for command in ["info", "train", "classify", "embed", "annotate", "merge", "bench"] {
            // Wide enough that no example is wrapped onto a second line.
            let help = try CLIRunner.launch(binary, [command, "--help"], environment: ["COLUMNS": "400"])
            XCTAssertEqual(help.status, 0, help.stderr)
            let examples = Self.examples(in: help.stdout)
            XCTAssertFalse(examples.isEmpty, "\(command) --help has no examples")
            if command == "merge" {
                // The other parts of the sharded runs whose first part the classify and annotate examples write.
                let parts = try shell("""
                    mamba-dna classify reads.fq.gz --shard 1/3 -o part1.tsv 2>/dev/null
                    mamba-dna classify reads.fq.gz --shard 3/3 -o part3.tsv 2>/dev/null
                    for i in 2 3 4; do mamba-dna annotate aln.bam -f ref.fa -R regions.bed --shard $i/4 -o part$i.vcf.gz 2>/dev/null; done
                    """)
                XCTAssertEqual(parts.status, 0, parts.stderr)
            }
            for line in examples {
                let r = try shell(line)
                XCTAssertEqual(r.status, 0, "\(line): \(r.stderr)")
                // What -o or a redirection names exists and is not empty.
                let words = line.split(separator: " ").map(String.init)
                for (i, w) in words.enumerated() where (w == "-o" || w == ">") && i + 1 < words.count {
                    let path = work.appendingPathComponent(words[i + 1]).path
                    var isDirectory: ObjCBool = false
                    XCTAssertTrue(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), "\(line): no \(words[i + 1])")
                    if !isDirectory.boolValue {
                        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                        XCTAssertGreaterThan(size, 0, "\(line): \(words[i + 1]) is empty")
                    }
                }
                ran += 1
            }
        }
        XCTAssertGreaterThanOrEqual(ran, 30)
    }
}
