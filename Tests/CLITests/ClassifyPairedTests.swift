import Foundation
import XCTest

/// `classify R1 R2 --paired`: mates read in lockstep, one row per pair named as the mates are without /1 and /2,
/// Kraken 2's paired per-read lines and a report that counts pairs; mates that do not pair up stop the run with no
/// output left behind.
final class ClassifyPairedTests: XCTestCase {
    var work: URL!
    let model = CLIRunner.repository.appendingPathComponent("Fixtures/models/species").path

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("paired-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }
    func rows(_ name: String) throws -> [[String]] {
        try String(contentsOfFile: path(name), encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// The demo reads (name, bases): 10 per species in turn.
    func allDemoReads() throws -> [(name: String, bases: String)] {
        let all = try String(contentsOf: CLIRunner.repository.appendingPathComponent("Fixtures/demo/species_reads.fa"), encoding: .utf8)
        let lines = all.split(separator: "\n").map(String.init)
        return stride(from: 0, to: lines.count - 1, by: 2).map {
            (name: String(lines[$0].dropFirst().split(separator: " ")[0]), bases: lines[$0 + 1])
        }
    }

    /// Every fifth demo read, the first `n` of them: a few of each species (few, as the debug build runs the model
    /// slowly).
    func demoReads(_ n: Int) throws -> [(name: String, bases: String)] {
        let reads = try allDemoReads()
        return Array(stride(from: 0, to: reads.count, by: 5).map { reads[$0] }.prefix(n))
    }

    static func reverseComplement(_ s: String) -> String {
        String(s.reversed().map { (c: Character) -> Character in
            switch c { case "A": "T"; case "C": "G"; case "G": "C"; case "T": "A"; default: "N" }
        })
    }

    /// Writes R1 and R2 files: mate 1 a demo read, mate 2 the reverse complement of `mate2(i)` (FASTQ for R1,
    /// FASTA for R2, each format as the other's reader would take it).
    func writePairs(_ reads: [(name: String, bases: String)], r1: String = "r1.fq", r2: String = "r2.fa",
                    mate2: (Int) -> String) throws {
        var a = "", b = ""
        for (i, r) in reads.enumerated() {
            a += "@\(r.name)/1 extra\n\(r.bases)\n+\n\(String(repeating: "I", count: r.bases.count))\n"
            b += ">\(r.name)/2\n\(Self.reverseComplement(mate2(i)))\n"
        }
        try a.write(toFile: path(r1), atomically: true, encoding: .utf8)
        try b.write(toFile: path(r2), atomically: true, encoding: .utf8)
    }

    func testOneRowPerPairWithKrakenLinesAndAReportOfPairs() throws {
        let reads = try demoReads(12)
        // Mate 2: the next demo read of the same species, on the other strand, 20 bases shorter.
        let all = try allDemoReads()
        try writePairs(reads) { i in String(all[5 * i + 1].bases.dropLast(20)) }
        let r = try CLIRunner.run(["classify", path("r1.fq"), path("r2.fa"), "--paired", "--model", model, "--threads", "2",
                                   "-o", path("calls.tsv"), "--kraken-output", path("calls.kraken"),
                                   "--report", path("calls.kreport"), "--counts", path("counts.tsv"), "--all-probs"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let calls = try rows("calls.tsv")
        XCTAssertEqual(calls.first?.first, "read_id")
        XCTAssertEqual(calls.dropFirst().map { $0[0] }, reads.map(\.name))
        for row in calls.dropFirst() where row[1] != "unclassified" {
            XCTAssertEqual(row[3..<(row.count - 1)].compactMap(Double.init).reduce(0, +), 1, accuracy: 1e-3, row[0])
        }

        // Kraken 2's paired lines: C/U, the shared name, taxid, `L1|L2`, `TAXID:L1 |:| TAXID:L2`.
        let kraken = try rows("calls.kraken")
        XCTAssertEqual(kraken.count, reads.count)
        for (line, (row, read)) in zip(kraken, zip(calls.dropFirst(), reads)) {
            XCTAssertEqual(line.count, 5, line.joined(separator: " "))
            XCTAssertEqual(line[0], row[1] == "unclassified" ? "U" : "C")
            XCTAssertEqual(line[1], read.name)
            let l1 = read.bases.count, l2 = l1 - 20
            XCTAssertEqual(line[3], "\(l1)|\(l2)")
            XCTAssertEqual(line[4], "\(line[2]):\(l1) |:| \(line[2]):\(l2)")
        }

        // The report and the counts count pairs: one per pair, as kraken2 --paired.
        let report = try rows("calls.kreport")
        let unclassified = report.first { $0[3] == "U" }.map { Int($0[1])! } ?? 0
        let root = report.first { $0[3] == "R" }.map { Int($0[1])! } ?? 0
        XCTAssertEqual(unclassified + root, reads.count)
        XCTAssertEqual(unclassified, calls.dropFirst().filter { $0[1] == "unclassified" }.count)
        let counts = try rows("counts.tsv").dropFirst()
        XCTAssertEqual(counts.reduce(0) { $0 + Int($1[1])! }, reads.count)
        for label in Set(calls.dropFirst().map { $0[1] }) {
            XCTAssertEqual(counts.first { $0[0] == label }.map { Int($0[1])! }, calls.dropFirst().filter { $0[1] == label }.count, label)
        }
    }

    func testTheSameReadAsBothMatesGetsTheClassOfTheReadAlone() throws {
        let reads = try demoReads(12)
        let single = reads.map { ">\($0.name)\n\($0.bases)\n" }.joined()
        try single.write(toFile: path("reads.fa"), atomically: true, encoding: .utf8)
        // Mate 2 is the read itself on the other strand.
        try writePairs(reads) { reads[$0].bases }
        for extra in [[], ["--no-kmer-sketch"]] {
            let alone = try CLIRunner.run(["classify", path("reads.fa"), "--model", model, "--threads", "2", "--confidence", "0",
                                           "--all-probs", "-o", path("alone.tsv")] + extra)
            XCTAssertEqual(alone.status, 0, alone.stderr)
            let pairs = try CLIRunner.run(["classify", path("r1.fq"), path("r2.fa"), "--paired", "--model", model, "--threads", "2",
                                           "--confidence", "0", "--all-probs", "-o", path("pairs.tsv")] + extra)
            XCTAssertEqual(pairs.status, 0, pairs.stderr)
            let a = try rows("alone.tsv"), p = try rows("pairs.tsv")
            XCTAssertEqual(a.count, reads.count + 1)
            XCTAssertEqual(p.map { $0[0] }, a.map { $0[0] })
            XCTAssertEqual(p.map { $0[1] }, a.map { $0[1] }, "\(extra)")
            if extra == ["--no-kmer-sketch"] {
                // The model alone: the mean of two equal mates' probabilities is the read's (each mate averages its
                // two strands already, so the mate on the other strand scores the same).
                for (x, y) in zip(a.dropFirst(), p.dropFirst()) {
                    for c in 3..<(x.count - 1) { XCTAssertEqual(Double(x[c])!, Double(y[c])!, accuracy: 2e-3, x[0]) }
                }
            }
        }
    }

    func testAMateTheScreenSetsAsideAddsNoEvidence() throws {
        let reads = try demoReads(2)
        let polyA = String(repeating: "A", count: 150), allN = String(repeating: "N", count: 150)
        // (mate 1, mate 2): a read with an all-N mate, a too-short mate 1 with a read, both mates set aside.
        let pairs = [("withN", reads[0].bases, allN), ("shortFirst", "ACGTAC", reads[1].bases), ("neither", polyA, "ACG")]
        try pairs.map { "@\($0.0)/1\n\($0.1)\n+\n\(String(repeating: "I", count: $0.1.count))\n" }.joined()
            .write(toFile: path("r1.fq"), atomically: true, encoding: .utf8)
        try pairs.map { ">\($0.0)/2\n\($0.2)\n" }.joined().write(toFile: path("r2.fa"), atomically: true, encoding: .utf8)
        try reads.map { ">\($0.name)\n\($0.bases)\n" }.joined().write(toFile: path("reads.fa"), atomically: true, encoding: .utf8)
        let args = ["--model", model, "--threads", "2", "--confidence", "0", "--all-probs"]
        let p = try CLIRunner.run(["classify", path("r1.fq"), path("r2.fa"), "--paired", "-o", path("pairs.tsv")] + args)
        XCTAssertEqual(p.status, 0, p.stderr)
        let a = try CLIRunner.run(["classify", path("reads.fa"), "-o", path("alone.tsv")] + args)
        XCTAssertEqual(a.status, 0, a.stderr)
        let paired = try rows("pairs.tsv").dropFirst().map { $0 }, alone = try rows("alone.tsv").dropFirst().map { $0 }
        XCTAssertEqual(paired.map { $0[0] }, pairs.map(\.0))
        // The pairs with one mate kept are the kept mate's read alone: class, confidence and probabilities.
        XCTAssertEqual(Array(paired[0].dropFirst()), Array(alone[0].dropFirst()))
        XCTAssertEqual(Array(paired[1].dropFirst()), Array(alone[1].dropFirst()))
        XCTAssertEqual(paired[2][1], "unclassified")
        XCTAssertEqual(paired[2].last, "low-complexity")
    }

    func testMatesThatDoNotPairUpStopTheRunWithNoOutput() throws {
        let reads = try demoReads(6)
        try writePairs(reads) { reads[$0].bases }
        // R2 with one mate renamed.
        var r2 = try String(contentsOfFile: path("r2.fa"), encoding: .utf8)
        r2 = r2.replacingOccurrences(of: ">\(reads[3].name)/2", with: ">other/2")
        try r2.write(toFile: path("renamed.fa"), atomically: true, encoding: .utf8)
        // R2 ending two records early.
        let short = r2.split(separator: "\n").prefix(8).joined(separator: "\n") + "\n"
        try short.write(toFile: path("short.fa"), atomically: true, encoding: .utf8)
        for (mate2, names) in [("renamed.fa", ["renamed.fa", "other"]), ("short.fa", ["short.fa"])] {
            let r = try CLIRunner.run(["classify", path("r1.fq"), path(mate2), "--paired", "--model", model, "--threads", "2",
                                       "-o", path("calls.tsv"), "--kraken-output", path("calls.kraken"), "--report", path("calls.kreport")])
            try CLIRunner.assertFailedCleanly(r, naming: names, in: work, leftover: "calls")
        }
        // The same with R1 the shorter: the files swapped.
        let swapped = try CLIRunner.run(["classify", path("short.fa"), path("r1.fq"), "--paired", "--model", model,
                                         "-o", path("calls.tsv")])
        try CLIRunner.assertFailedCleanly(swapped, naming: ["short.fa"], in: work, leftover: "calls")
    }

    func testPairedNeedsExactlyTwoFilesAndTwoFilesNeedPaired() throws {
        let reads = try demoReads(2)
        try writePairs(reads) { reads[$0].bases }
        for args in [[path("r1.fq"), "--paired"], [path("r1.fq"), path("r2.fa")], [path("r1.fq"), "-", "--paired"],
                     [path("r1.fq"), path("r2.fa"), path("r2.fa"), "--paired"]] {
            let r = try CLIRunner.run(["classify"] + args + ["--model", model, "-o", path("calls.tsv")])
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("calls.tsv")))
        }
    }

    func testShardsSplitByPairAndMergeToOneRun() throws {
        let reads = try demoReads(9)
        try writePairs(reads) { reads[$0].bases }
        let args = ["classify", path("r1.fq"), path("r2.fa"), "--paired", "--model", model, "--threads", "2", "--confidence", "0"]
        let whole = try CLIRunner.run(args + ["-o", path("whole.tsv")])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        for i in 1...2 {
            let part = try CLIRunner.run(args + ["--shard", "\(i)/2", "-o", path("part\(i).tsv")])
            XCTAssertEqual(part.status, 0, part.stderr)
            XCTAssertEqual(try rows("part\(i).tsv").count - 1, i == 1 ? 4 : 5)
        }
        let merged = try CLIRunner.run(["merge", "-o", path("merged.tsv"), path("part1.tsv"), path("part2.tsv")])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        XCTAssertEqual(try rows("merged.tsv"), try rows("whole.tsv"))
    }
}
