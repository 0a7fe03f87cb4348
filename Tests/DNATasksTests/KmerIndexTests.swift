import Foundation
import TestSupport
import XCTest
@testable import DNATasks
import MambaModel

/// The k-mer index file: varint coding, the round trip of both modes, bad files, and the files of earlier releases
/// (`kmer_sketch.safetensors`, `kmer_profile.safetensors`), which load and score as their conversion does.
final class KmerIndexTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("kmer-index-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// A directory with a config.json that lists `labels`, like a classifier directory.
    func modelDirectory(_ name: String, labels: [String]) throws -> String {
        let dir = work.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: ["labels": labels]).write(to: dir.appendingPathComponent("config.json"))
        return dir.path
    }

    /// Loading `mode` from `dir` fails with one line that names `file` and holds `needle`.
    func expectError(_ dir: String, _ mode: KmerIndex.Mode, file: String, _ needle: String, line: UInt = #line) {
        do {
            _ = try KmerIndex.load(directory: dir, mode: mode)
            XCTFail("loaded a bad index", line: line)
        } catch {
            let message = "\(error)"
            XCTAssertTrue(message.contains(dir + "/" + file), message, line: line)
            XCTAssertTrue(message.contains(needle), "expected '\(needle)' in: \(message)", line: line)
            XCTAssertFalse(message.contains("\n"), message, line: line)
        }
    }

    /// Every tensor of `file` as U8 bytes, in name order.
    func tensors(_ file: SafetensorsFile) throws -> [(name: String, value: SafetensorsValue)] {
        try file.entries.keys.sorted().map { name in
            let b = try file.bytes(name)
            return (name: name, value: .u8(shape: [b.count], values: b))
        }
    }

    func testVarintDeltas() {
        XCTAssertEqual(KmerIndex.encodeDeltas([0, 127, 255]), [0x00, 0x7f, 0x80, 0x01])
        XCTAssertEqual(KmerIndex.encodeDeltas([UInt32.max]), [0xff, 0xff, 0xff, 0xff, 0x0f])
        XCTAssertEqual(KmerIndex.encodeDeltas([]), [])
        for values: [UInt32] in [[], [0], [0, 127, 255], [UInt32.max], [0, UInt32.max], [5, 6, 1 << 20, (1 << 20) + 128, UInt32.max - 1]] {
            XCTAssertEqual(KmerIndex.decodeDeltas(KmerIndex.encodeDeltas(values)), values)
        }
        var g = SystemRandomNumberGeneratorSeeded(seed: 7)
        let random = Array(Set((0..<5000).map { _ in UInt32(truncatingIfNeeded: g.next()) })).sorted()
        XCTAssertEqual(KmerIndex.decodeDeltas(KmerIndex.encodeDeltas(random)), random)
        XCTAssertNil(KmerIndex.decodeDeltas([0x80]))                                // cut off
        XCTAssertNil(KmerIndex.decodeDeltas([0x05, 0x00]))                          // not increasing
        XCTAssertNil(KmerIndex.decodeDeltas([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]))  // beyond UInt32
        XCTAssertNil(KmerIndex.decodeDeltas([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))  // too long a varint
        XCTAssertEqual(KmerIndex.decodeVarints(KmerIndex.encodeVarints([0, 127, 128, 300, UInt32.max])),
                       [0, 127, 128, 300, UInt32.max])
        XCTAssertNil(KmerIndex.decodeVarints([0x80]))
    }

    // MARK: sketch mode

    func sketch() -> KmerSketch {
        var g = SystemRandomNumberGeneratorSeeded(seed: 3)
        let sets: [[UInt32]] = [Array(Set((0..<3000).map { _ in UInt32(truncatingIfNeeded: g.next()) })).sorted(), [],
                                [0, 1, 2, UInt32.max]]
        var p = KmerSketch.Parameters(); p.k = 19; p.scaled = 8; p.minCount = 3; p.minHits = 4; p.dominance = 2.5
        return KmerSketch(parameters: p, labels: ["a", "b c", "d\"e"], sets: sets, reads: 1234)
    }

    func testSketchRoundTripAndBadFiles() throws {
        let sketch = sketch()
        let file = KmerIndex.fileName(.sketch)
        let dir = try modelDirectory("m", labels: sketch.labels)
        XCTAssertNil(try KmerSketch.load(directory: dir))
        let path = dir + "/" + file
        try sketch.index.save(to: path)
        let again = try XCTUnwrap(try KmerSketch.load(directory: dir))
        XCTAssertEqual(again.index, sketch.index)
        XCTAssertEqual(again.parameters, sketch.parameters)
        XCTAssertEqual(again.index.reads, 1234)
        XCTAssertNil(again.index.classReads)
        let st = try SafetensorsFile(path: path)
        XCTAssertEqual(st.metadata["format"], "mamba-dna-kmer-index")
        XCTAssertEqual(st.metadata["mode"], "sketch")
        XCTAssertEqual(st.metadata["hash"], "murmur3-fmix64")
        XCTAssertEqual(st.metadata["k"], "19")
        XCTAssertEqual(st.metadata["dominance"], "2.5")
        XCTAssertEqual(st.entries["index.words.1"]?.shape, [0])
        XCTAssertNil(st.entries["index.counts.0"])
        XCTAssertEqual(try st.bytes("index.words.2"), [0x00, 0x01, 0x01, 0xfd, 0xff, 0xff, 0xff, 0x0f])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["config.json", file])

        // Other classes than the classifier's, or in another order.
        let other = try modelDirectory("other", labels: ["b c", "a", "d\"e"])
        try FileManager.default.copyItem(atPath: path, toPath: other + "/" + file)
        expectError(other, .sketch, file: file, "differ from the classifier's")
        // Truncated.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = try modelDirectory("cut", labels: sketch.labels)
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: cut + "/" + file))
        expectError(cut, .sketch, file: file, "truncated")
        // A safetensors file that is not an index, and one whose word stream is cut off.
        let plain = try modelDirectory("plain", labels: sketch.labels)
        try Safetensors.write([("x", .floats(shape: [1], values: [1]))], to: plain + "/" + file)
        expectError(plain, .sketch, file: file, "format")
        var meta = st.metadata
        let badStream = try modelDirectory("stream", labels: sketch.labels)
        try Safetensors.write([("index.words.0", .u8(shape: [2], values: [0x05, 0x80])),
                               ("index.words.1", .u8(shape: [0], values: [])), ("index.words.2", .u8(shape: [1], values: [1]))],
                              metadata: meta, to: badStream + "/" + file)
        expectError(badStream, .sketch, file: file, "'index.words.0'")
        for (key, value, needle) in [("k", "40", "k must be in 1...31"), ("mode", "both", "'mode'"), ("hash", "xx", "hash")] {
            meta = st.metadata; meta[key] = value
            let d = try modelDirectory("bad-\(key)", labels: sketch.labels)
            try Safetensors.write(try tensors(st), metadata: meta, to: d + "/" + file)
            expectError(d, .sketch, file: file, needle)
        }
        // A profile under the sketch's name.
        let wrongMode = try modelDirectory("wrong-mode", labels: sketch.labels)
        try profile().index.save(to: wrongMode + "/" + file)
        expectError(wrongMode, .sketch, file: file, "mode")
    }

    // MARK: profile mode

    func profile(k: Int = 3) -> KmerProfile {
        let genomes = (0..<3).map { TestSequences.random(2000, seed: 200 + UInt64($0)) }
        var p = KmerProfile.Parameters(); p.k = k; p.strands = .forward; p.weight = 0.25
        var builder = KmerIndexBuilder(parameters: .profile(p), labels: ["a", "b c", "d\"e"])
        for (c, g) in genomes.enumerated() {
            for start in stride(from: 0, to: 1800, by: 100) { builder.add(Array(Array(g.utf8)[start..<(start + 200)]), classIndex: c) }
        }
        return KmerProfile(builder.build().index)
    }

    func testProfileRoundTripAndBadFiles() throws {
        let profile = profile()
        let file = KmerIndex.fileName(.profile)
        let dir = try modelDirectory("m", labels: profile.labels)
        XCTAssertNil(try KmerProfile.load(directory: dir))
        let path = dir + "/" + file
        try profile.index.save(to: path)
        let again = try XCTUnwrap(try KmerProfile.load(directory: dir))
        XCTAssertEqual(again.index, profile.index)
        XCTAssertEqual(again.parameters, profile.parameters)
        XCTAssertEqual(again.classSequences, [18, 18, 18])
        XCTAssertEqual(again.sequences, 54)
        XCTAssertEqual(again.logProb, profile.logProb)
        let st = try SafetensorsFile(path: path)
        XCTAssertEqual(st.metadata["format"], "mamba-dna-kmer-index")
        XCTAssertEqual(st.metadata["mode"], "profile")
        XCTAssertEqual(st.metadata["strands"], "forward")
        XCTAssertEqual(st.metadata["weight"], "0.25")
        XCTAssertEqual(st.metadata["reads"], "54")
        XCTAssertEqual(st.metadata["class_reads"], "[18,18,18]")
        XCTAssertEqual(st.entries["index.words.0"]?.dtype, .U8)
        XCTAssertEqual(st.entries["index.counts.2"]?.dtype, .U8)
        // Counts only: the words present and their counts, decoded back exactly.
        XCTAssertEqual(KmerIndex.decodeDeltas(try st.bytes("index.words.1")), Array(profile.index.words(ofClass: 1)))
        XCTAssertEqual(KmerIndex.decodeVarints(try st.bytes("index.counts.1")), Array(profile.index.counts(ofClass: 1)))

        func copy(to name: String, labels: [String]? = nil) throws -> String {
            let d = try modelDirectory(name, labels: labels ?? profile.labels)
            try FileManager.default.copyItem(atPath: path, toPath: d + "/" + file)
            return d
        }
        expectError(try copy(to: "other", labels: ["b c", "a", "d\"e"]), .profile, file: file, "differ from the classifier's")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = try copy(to: "cut")
        try bytes.prefix(bytes.count - 5).write(to: URL(fileURLWithPath: cut + "/" + file))
        expectError(cut, .profile, file: file, "truncated")
        let plain = try copy(to: "plain")
        try Safetensors.write([("x", .floats(shape: [1], values: [1]))], to: plain + "/" + file)
        expectError(plain, .profile, file: file, "format")
        for (key, value, needle) in [("k", "13", "k must be in 1...12"), ("k", "2", "not a strictly increasing list of words below 4^k"),
                                     ("strands", "up", "'strands'"), ("weight", "-1", "weight must be"),
                                     ("class_reads", "[1,2]", "'class_reads'"), ("mode", "sketch", "hash")] {
            var m = st.metadata; m[key] = value
            let d = try copy(to: "bad-\(key)-\(value)")
            try Safetensors.write(try tensors(st), metadata: m, to: d + "/" + file)
            expectError(d, .profile, file: file, needle)
        }
        var m = st.metadata; m.removeValue(forKey: "class_reads")
        let d = try copy(to: "no-class-reads")
        try Safetensors.write(try tensors(st), metadata: m, to: d + "/" + file)
        expectError(d, .profile, file: file, "'class_reads'")
    }

    // MARK: files of earlier releases

    /// `index` written as releases before the k-mer index wrote it: kmer_sketch.safetensors (format
    /// mamba-dna-kmer-sketch, tensors sketch.<c>) or kmer_profile.safetensors (format mamba-dna-kmer-profile, tensors
    /// profile.words.<c> and profile.counts.<c>, metadata sequences and class_sequences).
    func writeLegacy(_ index: KmerIndex, in dir: String) throws {
        func json(_ value: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self)
        }
        var tensors: [(name: String, value: SafetensorsValue)] = []
        var meta = ["k": "\(index.parameters.k)", "labels": try json(index.labels)]
        for c in index.labels.indices {
            let words = KmerIndex.encodeDeltas(index.words(ofClass: c))
            switch index.parameters {
            case .sketch:
                tensors.append((name: "sketch.\(c)", value: .u8(shape: [words.count], values: words)))
            case .profile:
                let counts = KmerIndex.encodeVarints(index.counts(ofClass: c))
                tensors.append((name: "profile.words.\(c)", value: .u8(shape: [words.count], values: words)))
                tensors.append((name: "profile.counts.\(c)", value: .u8(shape: [counts.count], values: counts)))
            }
        }
        switch index.parameters {
        case .sketch(let p):
            meta.merge(["format": "mamba-dna-kmer-sketch", "hash": "murmur3-fmix64", "scaled": "\(p.scaled)",
                        "min_count": "\(p.minCount)", "min_hits": "\(p.minHits)", "dominance": "\(p.dominance)",
                        "reads": "\(index.reads)"]) { $1 }
        case .profile(let p):
            meta.merge(["format": "mamba-dna-kmer-profile", "weight": "\(p.weight)", "strands": p.strands.rawValue,
                        "sequences": "\(index.reads)", "class_sequences": try json(index.classReads!)]) { $1 }
        }
        try Safetensors.write(tensors, metadata: meta, to: dir + "/" + KmerIndex.legacyFileName(index.mode))
    }

    /// A sketch and a profile written in the earlier formats load as the index they were written from, score every
    /// read as it does, and give the same index again once saved in the current format. A directory with both files
    /// of one mode uses the current one.
    func testLegacyFilesLoadAndScoreAsTheirConversion() throws {
        let genomes = (0..<3).map { TestSequences.random(3000, seed: 300 + UInt64($0)) }
        let labels = ["a", "b", "c"]
        var sp = KmerSketch.Parameters(); sp.k = 15; sp.scaled = 4; sp.minCount = 1
        var sketchBuilder = KmerIndexBuilder(parameters: .sketch(sp), labels: labels)
        var profileBuilder = KmerIndexBuilder(parameters: .profile(KmerProfile.Parameters()), labels: labels)
        for (c, g) in genomes.enumerated() {
            for start in stride(from: 0, to: 2800, by: 100) {
                let read = Array(Array(g.utf8)[start..<(start + 200)])
                sketchBuilder.add(read, classIndex: c)
                profileBuilder.add(read, classIndex: c)
            }
        }
        // The earlier sketch file kept only the total of the reads.
        let built = sketchBuilder.build().index
        let sketchIndex = KmerIndex(parameters: built.parameters, labels: labels, words: labels.indices.map { Array(built.words(ofClass: $0)) },
                                    reads: built.reads, classReads: nil)
        let profileIndex = profileBuilder.build().index
        let legacy = try modelDirectory("legacy", labels: labels)
        try writeLegacy(sketchIndex, in: legacy)
        try writeLegacy(profileIndex, in: legacy)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: legacy)),
                       ["config.json", "kmer_sketch.safetensors", "kmer_profile.safetensors"])

        let oldSketch = try XCTUnwrap(try KmerSketch.load(directory: legacy))
        let oldProfile = try XCTUnwrap(try KmerProfile.load(directory: legacy))
        XCTAssertEqual(oldSketch.index, sketchIndex)
        XCTAssertEqual(oldProfile.index, profileIndex)

        let converted = try modelDirectory("converted", labels: labels)
        try oldSketch.index.save(to: converted + "/" + KmerIndex.fileName(.sketch))
        try oldProfile.index.save(to: converted + "/" + KmerIndex.fileName(.profile))
        let newSketch = try XCTUnwrap(try KmerSketch.load(directory: converted))
        let newProfile = try XCTUnwrap(try KmerProfile.load(directory: converted))
        XCTAssertEqual(newSketch.index, oldSketch.index)
        XCTAssertEqual(newProfile.index, oldProfile.index)
        XCTAssertEqual(newProfile.logProb, oldProfile.logProb)

        var reads = (0..<300).map { i in Array(Array(genomes[i % 3].utf8)[(i * 7 % 2800)..<(i * 7 % 2800 + 150)]) }
        reads.append(Array(TestSequences.random(150, seed: 9).utf8))
        XCTAssertEqual(newSketch.hits(reads, threads: 2), oldSketch.hits(reads, threads: 2))
        XCTAssertEqual(newProfile.scores(reads, threads: 2), oldProfile.scores(reads, threads: 2))
        XCTAssertGreaterThan(oldSketch.hits(reads, threads: 1).reduce(0, +), 0)

        // Both files of one mode: the current one is used (here: the same index with another dominance).
        var other = sp; other.dominance = 7
        try KmerSketch(parameters: other, labels: labels, sets: labels.indices.map { Array(built.words(ofClass: $0)) }, reads: 1)
            .index.save(to: legacy + "/" + KmerIndex.fileName(.sketch))
        XCTAssertEqual(try KmerSketch.load(directory: legacy)?.parameters, other)
        // An earlier file that is broken is named in the error, as a current one is.
        let broken = try modelDirectory("broken", labels: labels)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: broken + "/" + KmerIndex.legacyFileName(.profile)))
        expectError(broken, .profile, file: KmerIndex.legacyFileName(.profile), KmerIndex.legacyFileName(.profile))
        XCTAssertTrue(KmerIndex.present(.profile, in: ["kmer_profile.safetensors"]))
        XCTAssertTrue(KmerIndex.present(.sketch, in: ["kmer_index.sketch.safetensors"]))
        XCTAssertFalse(KmerIndex.present(.sketch, in: ["kmer_index.profile.safetensors"]))
    }
}
