import Foundation
import XCTest

/// `--shard I/N` + `merge` give the bytes of one run (classify TSV and report, embed TSV and npy, annotate VCF
/// records), each part alone is what it is within the whole, and bad parts are refused with nothing written.
final class ShardMergeTests: XCTestCase {
    var work: URL!
    let fixtures = CLIRunner.repository.appendingPathComponent("Fixtures")

    /// The first reads of the demo file (a debug build classifies a few reads a second), and an empty record
    /// (embed skips it, classify reports it): parts stay aligned with the input's records either way.
    var reads: String { path("reads.fa") }

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("shard-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let demo = try String(contentsOf: fixtures.appendingPathComponent("demo/species_reads.fa"), encoding: .utf8)
        var records = demo.split(separator: ">").prefix(10).map { ">" + $0 }
        records.insert(">empty\n", at: 4)
        try records.joined().write(toFile: reads, atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }
    func data(_ name: String) throws -> Data { try Data(contentsOf: work.appendingPathComponent(name)) }

    /// Runs `args + [--shard i/n, -o prefix.i.suffix]` for every part, then `merge`; returns the pieces' names.
    @discardableResult
    func runParts(_ args: [String], parts n: Int, prefix: String, suffix: String, mergeExtra: [String] = [],
                  merged: String) throws -> [String] {
        var pieces: [String] = []
        for i in 1...n {
            let name = "\(prefix).\(i).\(suffix)"
            let r = try CLIRunner.run(args + ["--shard", "\(i)/\(n)", "-o", path(name)])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(FileManager.default.fileExists(atPath: path(name) + ".shard.json"))
            pieces.append(name)
        }
        // Any order on the command line: the manifests give the order.
        let m = try CLIRunner.run(["merge", "-o", path(merged)] + mergeExtra + pieces.reversed().map(path))
        XCTAssertEqual(m.status, 0, m.stderr)
        return pieces
    }

    func testClassifyPartsMergeToOneRun() throws {
        let args = ["classify", reads, "--all-probs", "--threads", "2", "-q"]
        let one = try CLIRunner.run(args + ["-o", path("one.tsv"), "--report", path("one.kreport"), "--counts", path("one.counts.tsv"),
                                            "--kraken-output", path("one.kraken")])
        XCTAssertEqual(one.status, 0, one.stderr)
        let pieces = try runParts(args, parts: 3, prefix: "part", suffix: "tsv",
                                  mergeExtra: ["--report", path("merged.kreport"), "--counts", path("merged.counts.tsv")], merged: "merged.tsv")
        XCTAssertEqual(try data("merged.tsv"), try data("one.tsv"))
        XCTAssertEqual(try data("merged.kreport"), try data("one.kreport"))
        XCTAssertEqual(try data("merged.counts.tsv"), try data("one.counts.tsv"))
        // The parts' Kraken 2 per-read lines, concatenated in part order, are the whole run's.
        var kraken = Data()
        for i in 1...3 {
            let r = try CLIRunner.run(args + ["--shard", "\(i)/3", "-o", path("k.\(i).tsv"), "--kraken-output", path("k.\(i).kraken")])
            XCTAssertEqual(r.status, 0, r.stderr)
            kraken += try data("k.\(i).kraken")
        }
        XCTAssertEqual(kraken, try data("one.kraken"))
        // Part 2 alone holds exactly its block of the whole run's rows, under the same header.
        let whole = try String(contentsOf: work.appendingPathComponent("one.tsv"), encoding: .utf8).split(separator: "\n")
        let manifest = try JSONSerialization.jsonObject(with: data(pieces[1] + ".shard.json")) as! [String: Any]
        let range = (manifest["range"] as! [String: Any]).compactMapValues { $0 as? Int }
        XCTAssertEqual(range["total"], whole.count - 1)
        let part = try String(contentsOf: work.appendingPathComponent(pieces[1]), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(Array(part.dropFirst()), Array(whole[(1 + range["first"]!)..<(1 + range["end"]!)]))
        XCTAssertEqual(part.first, whole.first)
        XCTAssertGreaterThan(part.count, 1)
        // The same part run again, elsewhere, is the same bytes.
        let again = try CLIRunner.run(args + ["--shard", "2/3", "-o", path("again.tsv")])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try data("again.tsv"), try data(pieces[1]))
    }

    func testEmbedPartsMergeToOneRun() throws {
        let model = fixtures.appendingPathComponent("models/encoder").path
        for (pool, format) in [(nil, "tsv"), ("mean", "tsv"), ("mean", "npy")] {
            let args = ["embed", "--model", model, reads, "--format", format, "--threads", "2", "-q", "--precision", "fp32"]
                + (pool.map { ["--pool", $0] } ?? [])
            let tag = "\(pool ?? "base")-\(format)"
            let one = try CLIRunner.run(args + ["-o", path("one.\(tag)")])
            XCTAssertEqual(one.status, 0, one.stderr)
            try runParts(args, parts: 3, prefix: "part-\(tag)", suffix: format, merged: "merged.\(tag)")
            XCTAssertEqual(try data("merged.\(tag)"), try data("one.\(tag)"), tag)
            if format == "npy" { XCTAssertEqual(try data("merged.\(tag).rows.tsv"), try data("one.\(tag).rows.tsv")) }
        }
    }

    /// VCF over 4 regions in 3 parts: the same records as one run; header lines other than dates and command lines too.
    func testAnnotatePartsMergeToOneRun() throws {
        let v = fixtures.appendingPathComponent("variants")
        // Four regions: the fixture's contigs cut by `info --regions 4`.
        let bed = try CLIRunner.run(["info", "--regions", "4", v.appendingPathComponent("ref.fa").path])
        XCTAssertEqual(bed.status, 0, bed.stderr)
        XCTAssertEqual(Set(bed.stdout.split(separator: "\n").map { $0.split(separator: "\t")[3] }).count, 4)
        try bed.output.write(to: work.appendingPathComponent("regions.bed"))
        let args = ["annotate", v.appendingPathComponent("aln.bam").path, "-f", v.appendingPathComponent("ref.fa").path,
                    "-R", path("regions.bed"), "--threads", "2", "--all-candidates"]
        for suffix in ["vcf", "vcf.gz"] {
            let one = try CLIRunner.run(args + ["-o", path("one.\(suffix)")])
            XCTAssertEqual(one.status, 0, one.stderr)
            try runParts(args, parts: 3, prefix: "part", suffix: suffix, merged: "merged.\(suffix)")
            let bcftools = try CLIRunner.tool("bcftools")
            func lines(_ name: String) throws -> [String] {
                let r = try CLIRunner.launch(bcftools, ["view", "--no-version", path(name)])
                XCTAssertEqual(r.status, 0, r.stderr)
                return r.stdout.split(separator: "\n").map(String.init)
                    .filter { !$0.hasPrefix("##fileDate=") && !$0.hasPrefix("##mamba-dna_") }
            }
            let expected = try lines("one.\(suffix)")
            XCTAssertGreaterThan(expected.filter { !$0.hasPrefix("#") }.count, 0)
            XCTAssertEqual(try lines("merged.\(suffix)"), expected, suffix)
            if suffix == "vcf.gz" { XCTAssertTrue(FileManager.default.fileExists(atPath: path("merged.vcf.gz.tbi"))) }
        }
    }

    /// A read's embedding has the same bits alone as among the others (packed batches and blocks of other sizes),
    /// in both precisions: what makes every split of a run merge to the bytes of the whole.
    func testEachReadGetsTheBitsItGetsAlone() throws {
        let model = fixtures.appendingPathComponent("models/encoder").path
        let records = try String(contentsOfFile: reads, encoding: .utf8).split(separator: ">").map { ">" + $0 }
        for precision in ["fp32", "bf16"] {
            let whole = try CLIRunner.run(["embed", "--model", model, reads, "--format", "npy", "--precision", precision,
                                           "--threads", "2", "-q", "-o", path("whole.npy")])
            XCTAssertEqual(whole.status, 0, whole.stderr)
            let all = try data("whole.npy").dropFirst(128)
            var offset = 0
            for (i, record) in records.enumerated() {
                try record.write(toFile: path("one.fa"), atomically: true, encoding: .utf8)
                let alone = try CLIRunner.run(["embed", "--model", model, path("one.fa"), "--format", "npy", "--precision", precision,
                                               "--threads", "1", "-q", "-o", path("one.npy")])
                XCTAssertEqual(alone.status, 0, alone.stderr)
                let bytes = try data("one.npy").dropFirst(128)
                XCTAssertEqual(Data(all[(all.startIndex + offset)...].prefix(bytes.count)), Data(bytes), "\(precision) record \(i)")
                offset += bytes.count
            }
            XCTAssertEqual(offset, all.count)
        }
    }

    /// bedGraph and per-sequence TSV of the learned motif model: records and reference windows in 3 parts, and 3 windows in 5 (some
    /// of them empty when there are fewer windows than parts).
    func testMotifModelPartsMergeToOneRun() throws {
        let model = fixtures.appendingPathComponent("models/ctcf").path
        // A small reference (two contigs of 600 and 300 bases of the reads), indexed on first use.
        let bases = try String(contentsOfFile: reads, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix(">") }.joined()
        let ref = path("ref.fa")
        try ">c1\n\(bases.prefix(600))\n>c2\n\(bases.dropFirst(600).prefix(300))\n".write(toFile: ref, atomically: true, encoding: .utf8)
        let setups: [(String, [String], Int)] = [
            ("records", ["annotate", reads, "--motif-model", model], 3),
            ("windows", ["annotate", "-f", ref, "--motif-model", model, "--window", "100"], 3),
            ("sparse", ["annotate", "-f", ref, "--motif-model", model, "--window", "400"], 5),
        ]
        for (tag, base, n) in setups {
            let args = base + ["--threads", "2", "--precision", "fp32"]
            let one = try CLIRunner.run(args + ["-o", path("\(tag).one.bedgraph"), "--tsv", path("\(tag).one.tsv")])
            XCTAssertEqual(one.status, 0, one.stderr)
            var pieces: [String] = []
            for i in 1...n {
                let r = try CLIRunner.run(args + ["--shard", "\(i)/\(n)", "-o", path("\(tag).\(i).bedgraph"), "--tsv", path("\(tag).\(i).tsv")])
                XCTAssertEqual(r.status, 0, r.stderr)
                pieces.append(path("\(tag).\(i).bedgraph"))
            }
            let m = try CLIRunner.run(["merge", "-o", path("\(tag).merged.bedgraph"), "--tsv", path("\(tag).merged.tsv")] + pieces)
            XCTAssertEqual(m.status, 0, m.stderr)
            XCTAssertEqual(try data("\(tag).merged.bedgraph"), try data("\(tag).one.bedgraph"), tag)
            XCTAssertEqual(try data("\(tag).merged.tsv"), try data("\(tag).one.tsv"), tag)
        }
    }

    func testBadShardsAreRefused() throws {
        for bad in ["0/3", "4/3", "a/b", "3"] {
            let r = try CLIRunner.run(["classify", reads, "--shard", bad, "-o", path("out.tsv")])
            try CLIRunner.assertFailedCleanly(r, naming: ["--shard", bad], in: work, leftover: "out.tsv")
            XCTAssertEqual(r.status, 2)
        }
        // A part needs a file it can read twice, and an output to put its manifest beside.
        let stdin = try CLIRunner.runShell("cat '\(reads)' | \"$MAMBA_DNA\" classify - --shard 1/2 -o '\(path("out.tsv"))'")
        try CLIRunner.assertFailedCleanly(stdin, naming: ["--shard"], in: work, leftover: "out.tsv")
        let noOutput = try CLIRunner.run(["classify", reads, "--shard", "1/2"])
        try CLIRunner.assertFailedCleanly(noOutput, naming: ["--shard", "-o"])
        let motifs = try CLIRunner.run(["annotate", "--motifs", fixtures.appendingPathComponent("motifs/small.jaspar").path,
                                        fixtures.appendingPathComponent("motifs/seqs.fa").path, "--shard", "1/2", "-o", path("out.bed")])
        try CLIRunner.assertFailedCleanly(motifs, naming: ["--shard"], in: work, leftover: "out.bed")
        let bigWig = try CLIRunner.run(["annotate", reads, "--motif-model", fixtures.appendingPathComponent("models/ctcf").path,
                                        "--shard", "1/2", "-o", path("out.bw")])
        try CLIRunner.assertFailedCleanly(bigWig, naming: ["--shard"], in: work, leftover: "out.bw")
        let safetensors = try CLIRunner.run(["embed", "--model", fixtures.appendingPathComponent("models/encoder").path, reads,
                                             "--format", "safetensors", "--shard", "1/2", "-o", path("out.safetensors")])
        try CLIRunner.assertFailedCleanly(safetensors, naming: ["--shard"], in: work, leftover: "out.safetensors")
    }

    func testBadPiecesAreRefused() throws {
        let base = ["classify", reads, "--threads", "2", "-q"]
        for i in 1...3 {
            XCTAssertEqual(try CLIRunner.run(base + ["--shard", "\(i)/3", "-o", path("p\(i).tsv")]).status, 0)
        }
        // Another model (same task and input).
        let other = try CLIRunner.run(base + ["--model", fixtures.appendingPathComponent("models/16s").path,
                                              "--shard", "2/3", "-o", path("other2.tsv")])
        XCTAssertEqual(other.status, 0, other.stderr)
        // Another task.
        let embed = try CLIRunner.run(["embed", "--model", fixtures.appendingPathComponent("models/encoder").path, reads,
                                       "--pool", "mean", "-q", "--shard", "2/3", "-o", path("embed2.tsv")])
        XCTAssertEqual(embed.status, 0, embed.stderr)
        // Another split of the same reads (overlaps part 1 and 2 of 3).
        XCTAssertEqual(try CLIRunner.run(base + ["--shard", "1/2", "-o", path("half1.tsv")]).status, 0)
        // A piece without its manifest.
        try FileManager.default.copyItem(atPath: path("p2.tsv"), toPath: path("bare2.tsv"))

        let cases: [([String], [String])] = [
            (["p1.tsv", "other2.tsv", "p3.tsv"], ["other2.tsv"]),
            (["p1.tsv", "embed2.tsv", "p3.tsv"], ["embed2.tsv"]),
            (["p1.tsv", "p3.tsv"], ["2/3"]),
            (["p1.tsv", "p2.tsv", "p2.tsv", "p3.tsv"], ["p2.tsv"]),
            (["half1.tsv", "p2.tsv", "p3.tsv"], ["p2.tsv"]),
            (["p1.tsv", "bare2.tsv", "p3.tsv"], ["bare2.tsv"]),
        ]
        for (pieces, names) in cases {
            let r = try CLIRunner.run(["merge", "-o", path("merged.tsv"), "--report", path("merged.report.tsv")] + pieces.map(path))
            try CLIRunner.assertFailedCleanly(r, naming: names, in: work, leftover: "merged")
        }
        // A piece cut short after it was written.
        let p3 = try data("p3.tsv")
        try p3.prefix(p3.count - 10).write(to: work.appendingPathComponent("p3.tsv"))
        let r = try CLIRunner.run(["merge", "-o", path("merged.tsv"), path("p1.tsv"), path("p2.tsv"), path("p3.tsv")])
        try CLIRunner.assertFailedCleanly(r, naming: ["p3.tsv"], in: work, leftover: "merged")
    }
}
