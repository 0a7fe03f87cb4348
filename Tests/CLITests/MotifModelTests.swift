import Foundation
import XCTest
@testable import DNATasks
import MambaModel
import MambaTrain
import TestSupport

/// The learned motif model: per-base tracks that add up to the classifier's logit, `train --task motif`,
/// `annotate --motif-model` on records and on reference windows, and its errors.
final class MotifModelTests: XCTestCase {
    var work: URL!
    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("motif-model-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }
    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    func randomModel(rcAverage: Bool, seed: UInt64, pooling: ClassifierPooling = .mean) throws -> MotifModel {
        let config = MambaLMConfig(layout: .mambaSSM, nLayer: 2, vocabSize: DNATokenizer.vocabularySize,
                                   mixer: MixerConfig(dModel: 16, dState: 4, expand: 2))
        let encoder = try MambaInit.randomLM(config: config, seed: seed)
        let classifier = SequenceClassifier(encoder: encoder, labels: ["background", "bound"], seed: seed + 1, rcAverage: rcAverage,
                                            pooling: pooling)
        // A non-zero bias, so that the bias term of the decomposition is exercised.
        classifier.headBias.data[1] = 0.3
        return try MotifModel(classifier: classifier, boundLabel: "bound")
    }

    /// The track is consistent with the sequence score, which is the classifier's bound-minus-background
    /// logit: for mean pooling the logit is the mean of the track (with and without strand averaging); for
    /// max and logsumexp it is the pool of a single strand's track, and with strand averaging the mean of
    /// the two strands' pools, the track being the strands' per-position average. The track is per base,
    /// and it does not depend on the thread count.
    func testTrackIsConsistentWithTheClassifierLogit() throws {
        let seqs = (0..<7).map { i in DNATokenizer.encode(MotifTests.randomSequence(20 + 37 * i, seed: UInt64(i + 1))) }
        for pooling in ClassifierPooling.allCases {
          for rc in [true, false] {
            let model = try randomModel(rcAverage: rc, seed: 5, pooling: pooling)
            let logits = ClassifierPredictor(model: model.classifier, threads: 1, batchTokens: 100).logits(seqs)
            let scores = model.scores(seqs, threads: 1, batchTokens: 100)
            let tracks = scores.map(\.track)
            XCTAssertTrue(tracks == model.tracks(seqs, threads: 3, batchTokens: 100), "thread count changes the tracks")
            let single = try randomModel(rcAverage: false, seed: 5, pooling: pooling)
            for (i, s) in seqs.enumerated() {
                XCTAssertEqual(tracks[i].count, s.count)
                let want = logits[i * 2 + 1] - logits[i * 2]
                XCTAssertEqual(scores[i].logit, want, accuracy: 1e-4 * max(1, abs(want)), "\(pooling)")
                if pooling == .mean || !rc {
                    XCTAssertEqual(model.logit(track: tracks[i]), scores[i].logit, "\(pooling): the pool of the track")
                } else {
                    let strands = single.tracks([s, DNATokenizer.reverseComplement(s)])
                    let (f, r) = (strands[0], Array(strands[1].reversed()))
                    for t in s.indices { XCTAssertEqual(tracks[i][t], 0.5 * (f[t] + r[t]), accuracy: 1e-5) }
                    XCTAssertEqual(scores[i].logit, 0.5 * (single.logit(track: f) + single.logit(track: r)),
                                   accuracy: 1e-5 * max(1, abs(want)), "\(pooling): the mean of the strands' pools")
                }
                XCTAssertGreaterThan(Set(tracks[i]).count, s.count / 2, "a score per base, not one per sequence")
            }
            // Batching changes nothing beyond rounding.
            let alone = model.tracks([seqs[3]], threads: 1)
            for (a, b) in zip(alone[0], tracks[3]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
          }
          // Strand averaging makes a sequence and its reverse complement mirror images.
          let model = try randomModel(rcAverage: true, seed: 8, pooling: pooling)
          let s = seqs[4]
          let t = model.tracks([s, DNATokenizer.reverseComplement(s)])
          for (a, b) in zip(t[0], t[1].reversed()) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        }
    }

    func testTrainingConfigNamesTheBoundClass() throws {
        XCTAssertEqual(try MotifModel.trainingConfig(labels: ["0", "1"], bound: nil)["bound_label"] as? String, "1")
        XCTAssertEqual(try MotifModel.trainingConfig(labels: ["background", "bound"], bound: nil)["bound_label"] as? String, "bound")
        XCTAssertEqual(try MotifModel.trainingConfig(labels: ["neg", "peak"], bound: "peak")["bound_label"] as? String, "peak")
        XCTAssertThrowsError(try MotifModel.trainingConfig(labels: ["neg", "peak"], bound: nil))
        XCTAssertThrowsError(try MotifModel.trainingConfig(labels: ["a", "b", "c"], bound: "a"))
    }

    // MARK: CLI

    /// Bound windows carry GGGCGG at a random place in random sequence; background ones do not.
    func writeSet(_ name: String, n: Int, length: Int, seed: UInt64) throws -> String {
        var text = ""
        for i in 0..<n {
            var s = MotifTests.randomSequence(length, seed: seed &* 1000 &+ UInt64(i))
            let bound = i % 2 == 0
            if bound {
                let p = (i * 7) % (length - 6)
                s.replaceSubrange(p..<(p + 6), with: Array("GGGCGG".utf8))
            }
            text += ">w\(i) label=\(bound ? "bound" : "background")\n\(String(decoding: s, as: UTF8.self))\n"
        }
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    let tiny = ["--d-model", "16", "--layers", "1", "--d-state", "4", "--batch-tokens", "2000", "--lr", "1e-2",
                "--threads", "2", "--seed", "3", "--steps", "12", "--val-fraction", "0.1"]

    func bedGraph(_ file: String) throws -> (header: String, rows: [(String, Int, Int, Float)]) {
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        let rows = lines.dropFirst().map { l -> (String, Int, Int, Float) in
            let f = l.split(separator: "\t")
            return (String(f[0]), Int(f[1])!, Int(f[2])!, Float(f[3])!)
        }
        return (String(lines[0]), rows)
    }

    func table(_ file: String) throws -> [[String]] {
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
    }

    func testTrainThenAnnotateRecordsAndReference() throws {
        let train = try writeSet("train.fa", n: 120, length: 60, seed: 1)
        let model = path("model")
        let t = try CLIRunner.run(["train", "--task", "motif", train, "-o", model] + tiny)
        XCTAssertEqual(t.status, 0, t.stderr)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/config.json"))) as! [String: Any]
        XCTAssertEqual(config["task"] as? String, "motif")
        XCTAssertEqual(config["bound_label"] as? String, "bound")

        // Records: a bedGraph covering every base of every record, whose mean is the TSV logit, and a
        // probability equal to what `classify` reports for the bound class.
        let query = try writeSet("query.fa", n: 6, length: 50, seed: 2)
        let a = try CLIRunner.run(["annotate", query, "--motif-model", model, "-o", path("q.bedgraph"), "--tsv", path("q.tsv"), "--threads", "2"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let graph = try bedGraph(path("q.bedgraph"))
        XCTAssertTrue(graph.header.hasPrefix("track type=bedGraph"), graph.header)
        let rows = try table(path("q.tsv"))
        XCTAssertEqual(rows.map { $0[0] }, (0..<6).map { "w\($0)" })
        let c = try CLIRunner.run(["classify", query, "--model", model, "--all-probs", "-o", path("c.tsv")])
        XCTAssertEqual(c.status, 0, c.stderr)
        let classified = try table(path("c.tsv"))
        for (k, row) in rows.enumerated() {
            let mine = graph.rows.filter { $0.0 == row[0] }
            XCTAssertEqual(mine.first?.1, 0)
            XCTAssertEqual(mine.last?.2, 50)
            for (x, y) in zip(mine, mine.dropFirst()) { XCTAssertEqual(x.2, y.1, "contiguous") }
            let mean = mine.reduce(Float(0)) { $0 + $1.3 * Float($1.2 - $1.1) } / 50
            XCTAssertEqual(mean, Float(row[3])!, accuracy: 1e-3)
            XCTAssertEqual(Float(row[2])!, 1 / (1 + exp(-Float(row[3])!)), accuracy: 1e-5)
            XCTAssertEqual(Float(row[2])!, Float(classified[k][4])!, accuracy: 1e-4, "bound column of classify")
        }

        // Reference region: windows of --window bases, coordinates on the contig, each scored as the
        // same bases given as a record would be.
        let ref = path("ref.fa")
        let contig = MotifTests.randomSequence(400, seed: 11)
        try ">chrQ\n\(String(decoding: contig, as: UTF8.self))\n".write(toFile: ref, atomically: true, encoding: .utf8)
        let r = try CLIRunner.run(["annotate", "-f", ref, "-r", "chrQ:101-260", "--motif-model", model, "--window", "64",
                                   "-o", path("r.bedgraph"), "--tsv", path("r.tsv")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let windows = try table(path("r.tsv"))
        XCTAssertEqual(windows.map { $0[0] }, ["chrQ:101-164", "chrQ:165-228", "chrQ:229-260"])
        XCTAssertEqual(windows.map { $0[1] }, ["64", "64", "32"])
        let rg = try bedGraph(path("r.bedgraph")).rows
        XCTAssertEqual(rg.first?.1, 100)
        XCTAssertEqual(rg.last?.2, 260)
        XCTAssertTrue(rg.allSatisfy { $0.0 == "chrQ" })
        try ">x\n\(String(decoding: contig[164..<228], as: UTF8.self))\n".write(toFile: path("x.fa"), atomically: true, encoding: .utf8)
        let x = try CLIRunner.run(["annotate", path("x.fa"), "--motif-model", model, "-o", path("x.bedgraph"), "--tsv", path("x.tsv")])
        XCTAssertEqual(x.status, 0, x.stderr)
        XCTAssertEqual(try table(path("x.tsv"))[0][3], windows[1][3])
    }

    /// `train --pool`: stored in config.json; annotate's probability is classify's; a bad name exits 2.
    func testTrainWithPooledHead() throws {
        let train = try writeSet("train.fa", n: 80, length: 60, seed: 6)
        let model = path("pooled")
        let t = try CLIRunner.run(["train", "--task", "motif", train, "-o", model, "--pool", "logsumexp"] + tiny)
        XCTAssertEqual(t.status, 0, t.stderr)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/config.json"))) as! [String: Any]
        XCTAssertEqual(config["pooling"] as? String, "logsumexp")
        let query = try writeSet("query.fa", n: 6, length: 50, seed: 7)
        let a = try CLIRunner.run(["annotate", query, "--motif-model", model, "-o", path("q.bedgraph"), "--tsv", path("q.tsv")])
        XCTAssertEqual(a.status, 0, a.stderr)
        let c = try CLIRunner.run(["classify", query, "--model", model, "--all-probs", "-o", path("c.tsv")])
        XCTAssertEqual(c.status, 0, c.stderr)
        for (row, cl) in zip(try table(path("q.tsv")), try table(path("c.tsv"))) {
            XCTAssertEqual(Float(row[2])!, Float(cl[4])!, accuracy: 1e-4, "bound column of classify")
        }
        let bad = try CLIRunner.run(["train", "--task", "motif", train, "-o", path("bad"), "--pool", "median"] + tiny)
        XCTAssertEqual(bad.status, 2, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--pool"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad")))
    }

    /// The bundled CTCF model (Fixtures/models/ctcf): the MA0139.2 consensus written into random DNA, on
    /// either strand, makes the window bound, and the track's best 15 bp stretch lies on the site.
    func testBundledCTCFModelFindsTheConsensusSite() throws {
        let model = CLIRunner.repository.appendingPathComponent("Fixtures/models/ctcf").path
        let site = Array("GCCACCAGGGGGCGC".utf8)
        var text = ""
        for i in 0..<4 {
            let bases = MotifTests.randomSequence(400, seed: UInt64(70 + i)).filter { "ACGT".utf8.contains($0) }
            var s = Array(bases.prefix(200))
            XCTAssertEqual(s.count, 200)
            text += ">bg\(i)\n\(String(decoding: s, as: UTF8.self))\n"
            s.replaceSubrange(90..<105, with: site)
            text += ">fw\(i)\n\(String(decoding: s, as: UTF8.self))\n"
            s.replaceSubrange(90..<105, with: MotifScanner.reverseComplement(site))
            text += ">rc\(i)\n\(String(decoding: s, as: UTF8.self))\n"
        }
        try text.write(toFile: path("probe.fa"), atomically: true, encoding: .utf8)
        let r = try CLIRunner.run(["annotate", path("probe.fa"), "--motif-model", model, "-o", path("p.bedgraph"), "--tsv", path("p.tsv")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let probability = Dictionary(uniqueKeysWithValues: try table(path("p.tsv")).map { ($0[0], Float($0[2])!) })
        let rows = try bedGraph(path("p.bedgraph")).rows
        for i in 0..<4 {
            XCTAssertLessThan(probability["bg\(i)"]!, 0.5)
            for name in ["fw\(i)", "rc\(i)"] {
                XCTAssertGreaterThan(probability[name]!, 0.95, name)
                var track = [Float]()
                for row in rows where row.0 == name { track += Array(repeating: row.3, count: row.2 - row.1) }
                let sums = (0...(track.count - 15)).map { track[$0..<($0 + 15)].reduce(0, +) }
                let best = sums.indices.max { sums[$0] < sums[$1] }!
                XCTAssertTrue(best + 15 > 90 && best < 105, "\(name): best stretch at \(best)")
            }
        }
    }

    /// Missing, non-directory and non-motif model directories, and training input that is not two classes:
    /// one line naming the culprit, a non-zero exit, no output.
    func testBadModelAndTrainingInput() throws {
        let query = try writeSet("query.fa", n: 2, length: 30, seed: 4)
        try FileManager.default.createDirectory(atPath: path("empty"), withIntermediateDirectories: true)
        try "{}".write(toFile: path("empty/config.json"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: path("broken"), withIntermediateDirectories: true)
        try "{\"task\": \"motif\", \"bound_label\": \"bound\"".write(toFile: path("broken/config.json"), atomically: true, encoding: .utf8)
        let cases = [(path("nowhere"), "no such model directory"), (query, "not a directory"),
                     (path("empty"), "not a motif model"), (path("broken"), "not a JSON object")]
        for (dir, problem) in cases {
            let r = try CLIRunner.run(["annotate", query, "--motif-model", dir, "-o", path("o.bedgraph"), "--tsv", path("o.tsv")])
            XCTAssertNotEqual(r.status, 0, dir)
            let text = r.stderr.trimmingCharacters(in: .newlines)
            XCTAssertEqual(text.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(text.contains(dir) && text.contains(problem), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.bedgraph")))
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.tsv")))
        }
        // A classify model is not a motif model.
        let train = try writeSet("train.fa", n: 40, length: 30, seed: 5)
        let cl = try CLIRunner.run(["train", "--task", "classify", train, "-o", path("cls"), "--steps", "2"] + tiny.dropLast(4))
        XCTAssertEqual(cl.status, 0, cl.stderr)
        let notMotif = try CLIRunner.run(["annotate", query, "--motif-model", path("cls"), "-o", path("o.bedgraph")])
        try CLIRunner.assertFailedCleanly(notMotif, naming: [path("cls") + "/config.json"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.bedgraph")))

        // Three classes, or a bound label that is not a class: no model directory.
        let three = try String(contentsOfFile: train, encoding: .utf8).replacingOccurrences(of: ">w3 label=background", with: ">w3 label=other")
        try three.write(toFile: path("three.fa"), atomically: true, encoding: .utf8)
        for (input, extra, names) in [(path("three.fa"), [String](), ["background", "bound", "other"]),
                                      (train, ["--bound-label", "peak"], ["--bound-label", "peak"])] {
            let r = try CLIRunner.run(["train", "--task", "motif", input, "-o", path("m")] + extra + tiny)
            XCTAssertEqual(r.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count, 1, r.stderr)
            try CLIRunner.assertFailedCleanly(r, naming: names)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")))
        }
    }

    /// `-o x.bw`: a bigWig that a real reader (pyBigWig) opens, holding the bedGraph's runs; a FIFO or device
    /// cannot take one (it is written with seeks) and nothing is left behind.
    func testBigWigHoldsTheBedGraphRuns() throws {
        let python = URL(fileURLWithPath: "/usr/bin/python3")
        let probe = try CLIRunner.launch(python, ["-c", "import pyBigWig"])
        try XCTSkipIf(probe.status != 0, "pyBigWig is not installed (scripts/setup installs python3-pybigwig)")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("bigwig-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let fasta = work.appendingPathComponent("s.fa").path
        try (0..<4).map { ">s\($0)\n\(TestSequences.random(150 + 10 * $0, seed: UInt64(40 + $0)))\n" }.joined()
            .write(toFile: fasta, atomically: true, encoding: .utf8)
        let model = CLIRunner.repository.appendingPathComponent("Fixtures/models/ctcf").path
        let bw = work.appendingPathComponent("t.bw").path, bg = work.appendingPathComponent("t.bedgraph").path
        for out in [bw, bg] {
            let r = try CLIRunner.run(["annotate", fasta, "--motif-model", model, "--bedgraph-resolution", "4", "-o", out])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let dump = try CLIRunner.launch(python, ["-c", """
            import pyBigWig, sys
            bw = pyBigWig.open(sys.argv[1])
            for c, n in bw.chroms().items():
                for s, e, v in bw.intervals(c):
                    print(f"{c}\\t{s}\\t{e}\\t{v:.4f}")
            """, bw])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        let fromBigWig = Set(dump.stdout.split(separator: "\n").map(String.init))
        let fromBedGraph = Set(try String(contentsOfFile: bg, encoding: .utf8).split(separator: "\n").dropFirst().map(String.init))
        XCTAssertGreaterThan(fromBedGraph.count, 4)
        XCTAssertEqual(fromBigWig, fromBedGraph)

        let fifo = work.appendingPathComponent("pipe.bw").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let refused = try CLIRunner.run(["annotate", fasta, "--motif-model", model, "-o", fifo])
        try CLIRunner.assertFailedCleanly(refused, naming: [fifo], in: work, leftover: ".tmp")
    }
}
