import Foundation
import TestSupport
import XCTest
@testable import DNATasks
import MambaModel

/// The naive Bayes k-mer profile as a data structure: word encoding against a plain reference, the training
/// formula on a hand-made example, scoring on both strands, combination with model logits and the file format.
final class KmerProfileTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("kmer-profile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    // MARK: reference implementation, one word at a time from its characters

    /// Every complete word's packed index, in read order, from the word's characters.
    static func referenceWords(_ s: String, k: Int) -> [Int] {
        let chars = Array(s)
        guard chars.count >= k else { return [] }
        return (0...(chars.count - k)).compactMap { start in
            let codes = chars[start..<(start + k)].map(KmerSketchTests.code)
            guard codes.allSatisfy({ $0 != nil }) else { return nil }
            return codes.reduce(0) { $0 * 4 + Int($1!) }
        }
    }

    static func rolling(_ s: String, k: Int) -> (forward: [Int], reverse: [Int]) {
        var f: [Int] = [], r: [Int] = []
        Array(s.utf8).withUnsafeBufferPointer { KmerWords.forEachWord($0, k: k) { f.append($0); r.append($1) } }
        return (f, r)
    }

    func testWordsMatchReferenceOnRandomSequences() {
        let alphabet: [Character] = ["A", "C", "G", "T", "a", "c", "g", "t", "N", "A", "C", "G", "T", "-"]
        for k in [1, 2, 3, 5, 8, 12] {
            let s = TestSequences.random(500, seed: 70 + UInt64(k), alphabet: alphabet)
            let (forward, reverse) = Self.rolling(s, k: k)
            XCTAssertEqual(forward, Self.referenceWords(s, k: k), "k \(k)")
            // The reverse-complement words are the reverse complement's words, read backwards.
            XCTAssertEqual(reverse, Self.referenceWords(TestSequences.reverseComplement(s), k: k).reversed(), "k \(k)")
            XCTAssertTrue(forward.allSatisfy { $0 < 1 << (2 * k) })
            if k <= 5 { XCTAssertFalse(forward.isEmpty) }
        }
        XCTAssertEqual(Self.rolling("ACGT", k: 4).forward, [0b00_01_10_11])
        XCTAssertEqual(Self.rolling("acgNtac", k: 2).forward, [1, 6, 12, 1])  // AC CG | TA AC
    }

    // MARK: training

    /// Two classes, three sequences, k = 2: every table entry against the formula worked out here from word sets.
    func testTrainingFormulaOnHandMadeExample() {
        let training: [(String, Int)] = [("ACGTAC", 0), ("AAAN", 0), ("acgg", 1)]  // AC twice and AA twice count once
        var p = KmerProfile.Parameters(); p.k = 2
        var builder = KmerProfileBuilder(parameters: p, labels: ["x", "y"])
        for (s, c) in training { builder.add(Array(s.utf8), classIndex: c) }
        let (profile, summaries) = builder.build()
        XCTAssertEqual(profile.classSequences, [2, 1])
        XCTAssertEqual(summaries, [.init(sequences: 2, distinctWords: 5), .init(sequences: 1, distinctWords: 3)])

        let sets = training.map { (Set(Self.referenceWords($0.0, k: 2)), $0.1) }
        let N = 3.0, Nc = [2.0, 1.0]
        for w in 0..<16 {
            let n = [0, 1].map { c in Double(sets.filter { $0.1 == c && $0.0.contains(w) }.count) }
            let prior = (n[0] + n[1] + 0.5) / (N + 1)
            for c in 0..<2 {
                XCTAssertEqual(profile.logProbability(word: w, classIndex: c), Float(log((n[c] + prior) / (Nc[c] + 1))),
                               accuracy: 1e-6, "word \(w) class \(c)")
            }
        }
        // AC (index 1): in one x sequence (twice, counted once) and in the y one; AA (0): in one x sequence only.
        XCTAssertEqual(profile.logProbability(word: 1, classIndex: 0), Float(log((1 + 2.5 / 4) / 3)), accuracy: 1e-6)
        XCTAssertEqual(profile.logProbability(word: 0, classIndex: 1), Float(log((0 + 1.5 / 4) / 2)), accuracy: 1e-6)
    }

    // MARK: scoring

    func profile(strands: KmerProfile.Strands, k: Int = 6) -> (KmerProfile, [String]) {
        let genomes = (0..<3).map { TestSequences.random(2000, seed: 200 + UInt64($0)) }
        var p = KmerProfile.Parameters(); p.k = k; p.strands = strands
        var builder = KmerProfileBuilder(parameters: p, labels: ["a", "b", "c"])
        for (c, g) in genomes.enumerated() {
            for start in stride(from: 0, to: 1800, by: 100) { builder.add(Array(Array(g.utf8)[start..<(start + 200)]), classIndex: c) }
        }
        return (builder.build().profile, genomes)
    }

    func testScoresSumWordLogProbabilitiesAndBothStrandsAgree() {
        let (both, genomes) = profile(strands: .both)
        let (forward, _) = profile(strands: .forward)
        var differs = 0
        for (c, g) in genomes.enumerated() {
            for start in stride(from: 0, to: 1850, by: 170) {
                var read = String(Array(g)[start..<(start + 150)])
                if start % 340 == 0 { read = read.lowercased() }
                if start % 510 == 0 { read = String(read.prefix(70)) + "N" + String(read.dropFirst(71)) }
                let rc = TestSequences.reverseComplement(read)
                // Forward: the plain sum over the read's words.
                let words = Self.referenceWords(read, k: 6)
                let expected = (0..<3).map { k in words.reduce(0.0) { $0 + Double(forward.logProbability(word: $1, classIndex: k)) } }
                for (a, b) in zip(forward.scores(read), expected) { XCTAssertEqual(a, b, accuracy: 1e-9 * abs(b)) }
                // Both: exactly the same scores for the read and its reverse complement, the better strand's.
                let s = both.scores(read)
                XCTAssertEqual(s, both.scores(rc))
                XCTAssertEqual(s.indices.max { s[$0] < s[$1] }, c)
                if forward.scores(read) != forward.scores(rc) { differs += 1 }
            }
        }
        XCTAssertGreaterThan(differs, 0)
        // Shorter than k, or no complete word: all 0 (the model alone).
        XCTAssertEqual(both.scores("ACGTA"), [0, 0, 0])
        XCTAssertEqual(both.scores("ACGTANNACGTA"), [0, 0, 0])
        // The batch form gives the same scores on any number of threads.
        let reads = (0..<700).map { i in Array(Array(genomes[i % 3].utf8)[(i % 17 * 100)..<(i % 17 * 100 + 130)]) }
        let one = both.scores(reads, threads: 1)
        XCTAssertEqual(both.scores(reads, threads: 3), one)
        XCTAssertEqual(Array(one[(5 * 3)..<(6 * 3)]), both.scores(reads[5]))
    }

    func testProbabilitiesCombineLogSoftmaxAndWeightedScores() {
        let logits: [Float] = [2, 0, -1, 0.5, 0.5, 0.5]
        let scores: [Double] = [-300, -290, -310, -10, -12, -10]
        let softmax: [Float] = (0..<2).flatMap { r in
            let e = logits[(3 * r)..<(3 * r + 3)].map { exp(Double($0)) }
            return e.map { Float($0 / e.reduce(0, +)) }
        }
        let alone = KmerProfile.probabilities(logits: logits, scores: scores, weight: 0, classes: 3)
        for (a, b) in zip(alone, softmax) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        let p = KmerProfile.probabilities(logits: logits, scores: scores, weight: 0.1, classes: 3)
        XCTAssertEqual(p[0..<3].reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(p[3..<6].reduce(0, +), 1, accuracy: 1e-6)
        // Row 0: log softmax + 0.1 × scores = (2 - 30, 0 - 29, -1 - 31) - lse: class 1 wins, as computed here.
        let f: [Double] = [2.0 - 30, 0 - 29, -1 - 31], z = f.map { exp($0 - f.max()!) }.reduce(0, +)
        XCTAssertEqual(Double(p[1]), exp(f[1] - f.max()!) / z, accuracy: 1e-6)
        // A huge weight: the profile alone decides (ties shared).
        let nb = KmerProfile.probabilities(logits: logits, scores: scores, weight: 1000, classes: 3)
        XCTAssertEqual(nb, [0, 1, 0, 0.5, 0, 0.5])
    }

    // MARK: file format

    /// A directory with a config.json that lists `labels`, like a classifier directory.
    func modelDirectory(_ name: String, labels: [String]) throws -> String {
        let dir = work.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: ["labels": labels]).write(to: dir.appendingPathComponent("config.json"))
        return dir.path
    }

    func testSaveLoadRoundTripAndBadFiles() throws {
        var (profile, _) = self.profile(strands: .forward, k: 3)
        var p = profile.parameters; p.weight = 0.25
        profile = KmerProfile(parameters: p, labels: ["a", "b c", "d\"e"], classSequences: profile.classSequences,
                              classWords: profile.classWords, classCounts: profile.classCounts)
        let dir = try modelDirectory("m", labels: profile.labels)
        XCTAssertNil(try KmerProfile.load(directory: dir))
        let path = dir + "/" + KmerProfile.fileName
        try profile.save(to: path)
        let again = try XCTUnwrap(try KmerProfile.load(directory: dir))
        XCTAssertEqual(again.parameters, p)
        XCTAssertEqual(again.labels, profile.labels)
        XCTAssertEqual(again.classSequences, [18, 18, 18])
        XCTAssertEqual(again.sequences, 54)
        XCTAssertEqual(again.logProb, profile.logProb)
        XCTAssertEqual(again.classWords, profile.classWords)
        XCTAssertEqual(again.classCounts, profile.classCounts)
        let file = try SafetensorsFile(path: path)
        XCTAssertEqual(file.metadata["format"], "mamba-dna-kmer-profile")
        XCTAssertEqual(file.metadata["strands"], "forward")
        XCTAssertEqual(file.metadata["weight"], "0.25")
        XCTAssertEqual(file.metadata["class_sequences"], "[18,18,18]")
        XCTAssertEqual(file.entries["profile.words.0"]?.dtype, .U8)
        XCTAssertEqual(file.entries["profile.counts.2"]?.dtype, .U8)
        // Counts only: the words present and their counts, decoded back exactly.
        XCTAssertEqual(KmerSketch.decodeDeltas(try file.bytes("profile.words.1")), profile.classWords[1])
        XCTAssertEqual(KmerProfile.decodeVarints(try file.bytes("profile.counts.1")), profile.classCounts[1])
        XCTAssertEqual(KmerProfile.decodeVarints(KmerProfile.encodeVarints([0, 127, 128, 300, UInt32.max])),
                       [0, 127, 128, 300, UInt32.max])
        XCTAssertNil(KmerProfile.decodeVarints([0x80]))

        func expectError(_ dir: String, _ needle: String, line: UInt = #line) {
            do {
                _ = try KmerProfile.load(directory: dir)
                XCTFail("loaded a bad profile", line: line)
            } catch {
                let message = "\(error)"
                XCTAssertTrue(message.contains(dir + "/" + KmerProfile.fileName), message, line: line)
                XCTAssertTrue(message.contains(needle), "expected '\(needle)' in: \(message)", line: line)
                XCTAssertFalse(message.contains("\n"), message, line: line)
            }
        }
        func copy(to name: String, labels: [String]? = nil) throws -> String {
            let d = try modelDirectory(name, labels: labels ?? profile.labels)
            try FileManager.default.copyItem(atPath: path, toPath: d + "/" + KmerProfile.fileName)
            return d
        }
        expectError(try copy(to: "other", labels: ["b c", "a", "d\"e"]), "differ from the classifier's")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = try copy(to: "cut")
        try bytes.prefix(bytes.count - 5).write(to: URL(fileURLWithPath: cut + "/" + KmerProfile.fileName))
        expectError(cut, "truncated")
        let plain = try copy(to: "plain")
        try Safetensors.write([("x", .floats(shape: [1], values: [1]))], to: plain + "/" + KmerProfile.fileName)
        expectError(plain, "format")
        let meta = file.metadata
        for (key, value, needle) in [("k", "13", "k must be in 1...12"), ("k", "2", "not a strictly increasing list of words below 4^k"),
                                     ("strands", "up", "'strands'"), ("weight", "-1", "weight must be"),
                                     ("class_sequences", "[1,2]", "'class_sequences'")] {
            var m = meta; m[key] = value
            let d = try copy(to: "bad-\(key)-\(value)")
            let tensors: [(name: String, value: SafetensorsValue)] = try file.entries.keys.sorted().map { name in
                let b = try file.bytes(name)
                return (name: name, value: .u8(shape: [b.count], values: b))
            }
            try Safetensors.write(tensors, metadata: m, to: d + "/" + KmerProfile.fileName)
            expectError(d, needle)
        }
    }
}
