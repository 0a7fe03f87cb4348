import Foundation
import XCTest

/// `scripts/workflow`: 3 parts per task, merged, give what one `mamba-dna` run gives, with `snakemake --cores 2`
/// and through a one-node SLURM cluster (`scripts/slurm/start`, jobs submitted with sbatch by the profile).
final class WorkflowTests: XCTestCase {
    var work: URL!
    let repo = CLIRunner.repository

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("workflow-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let demo = try String(contentsOf: repo.appendingPathComponent("Fixtures/demo/species_reads.fa"), encoding: .utf8)
        try demo.split(separator: ">").prefix(9).map { ">" + $0 }.joined().write(to: file("reads.fa"), atomically: true, encoding: .utf8)
        let v = repo.appendingPathComponent("Fixtures/variants")
        for name in ["aln.bam", "aln.bam.bai", "ref.fa", "ref.fa.fai"] {
            try FileManager.default.copyItem(at: v.appendingPathComponent(name), to: file(name))
        }
        let bed = try CLIRunner.run(["info", "--regions", "4", file("ref.fa").path])
        XCTAssertEqual(bed.status, 0, bed.stderr)
        try bed.output.write(to: file("regions.bed"))
        let config = """
            mamba_dna: \(CLIRunner.binary?.path ?? "mamba-dna")
            outdir: results
            shards: 3
            threads: 1
            mem_mb: 500
            tasks: [classify, embed, annotate]
            classify: {input: reads.fa, model: "", options: "--all-probs"}
            embed: {input: reads.fa, model: \(repo.appendingPathComponent("Fixtures/models/encoder").path), options: "--pool mean --precision fp32"}
            annotate: {alignments: aln.bam, reference: ref.fa, regions: regions.bed, options: "--all-candidates", suffix: vcf.gz}

            """
        try config.write(to: file("config.yaml"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func file(_ name: String) -> URL { work.appendingPathComponent(name) }

    /// The single-process outputs the workflow's merged files must equal.
    func singleRuns() throws {
        let runs: [[String]] = [
            ["classify", "reads.fa", "--all-probs", "-q", "-o", "one.classify.tsv", "--report", "one.classify.kreport"],
            ["embed", "reads.fa", "--model", repo.appendingPathComponent("Fixtures/models/encoder").path, "--pool", "mean",
             "--precision", "fp32", "-q", "-o", "one.embed.tsv"],
            ["annotate", "aln.bam", "-f", "ref.fa", "-R", "regions.bed", "--all-candidates", "-o", "one.annotate.vcf.gz"],
        ]
        for args in runs {
            let r = try CLIRunner.runShell("cd '\(work.path)' && \"$MAMBA_DNA\" " + args.map { "'\($0)'" }.joined(separator: " "))
            XCTAssertEqual(r.status, 0, r.stderr)
        }
    }

    func assertMergedEqualSingle(file: StaticString = #filePath, line: UInt = #line) throws {
        for name in ["classify.tsv", "classify.kreport", "embed.tsv"] {
            XCTAssertEqual(try Data(contentsOf: self.file("results/" + name)), try Data(contentsOf: self.file("one." + name)), name,
                           file: file, line: line)
        }
        let bcftools = try CLIRunner.tool("bcftools")
        func records(_ path: String) throws -> [Substring] {
            let r = try CLIRunner.launch(bcftools, ["view", "-H", self.file(path).path])
            XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
            return r.stdout.split(separator: "\n")
        }
        let expected = try records("one.annotate.vcf.gz")
        XCTAssertFalse(expected.isEmpty, file: file, line: line)
        XCTAssertEqual(try records("results/annotate.vcf.gz"), expected, file: file, line: line)
        // Three part jobs per task and one merge each.
        let parts = try FileManager.default.contentsOfDirectory(atPath: self.file("results/parts").path)
        XCTAssertEqual(parts.filter { $0.hasSuffix(".shard.json") }.count, 9, file: file, line: line)
    }

    func snakemake(_ extra: [String], environment: [String: String] = [:]) throws -> CLIRunner.Result {
        let snakemake = try CLIRunner.tool("snakemake")
        return try CLIRunner.launch(snakemake, ["-s", repo.appendingPathComponent("scripts/workflow/Snakefile").path,
                                                "--configfile", file("config.yaml").path, "--directory", work.path, "-q"] + extra,
                                    environment: environment)
    }

    func testLocalCoresTwo() throws {
        try singleRuns()
        let r = try snakemake(["--cores", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertMergedEqualSingle()
    }

    func testThroughSLURM() throws {
        // Its own cluster folder and ports, stopped at the end.
        let cluster = file("slurm")
        let env = ["SLURMCTLD_PORT": "16827", "SLURMD_PORT": "16828"]
        let start = try CLIRunner.launch(repo.appendingPathComponent("scripts/slurm/start"), [cluster.path], environment: env)
        defer { _ = try? CLIRunner.launch(repo.appendingPathComponent("scripts/slurm/stop"), [cluster.path]) }
        XCTAssertEqual(start.status, 0, start.stderr)
        let conf = cluster.appendingPathComponent("slurm.conf").path
        XCTAssertEqual(start.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "export SLURM_CONF=\(conf)")
        try singleRuns()
        let r = try snakemake(["--profile", repo.appendingPathComponent("scripts/workflow/profiles/slurm").path],
                              environment: ["SLURM_CONF": conf])
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertMergedEqualSingle()
        // Every job went through sbatch: one SLURM log per part and merge job.
        let logs = try FileManager.default.contentsOfDirectory(atPath: file("slurm-logs").path)
        XCTAssertEqual(logs.filter { $0.contains("_part-") }.count, 9, "\(logs)")
        XCTAssertEqual(logs.filter { $0.contains("_merge-") }.count, 3, "\(logs)")
    }
}
