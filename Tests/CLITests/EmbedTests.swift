import Foundation
import XCTest

/// `mamba-dna embed` end to end: reference parity through the CLI, and failures that leave nothing behind.
final class EmbedTests: XCTestCase {
    var fixtures: URL {
        if let env = ProcessInfo.processInfo.environment["MAMBA_DNA_REFERENCE_FIXTURES"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/reference")
    }

    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("embed-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func run(_ args: [String]) throws -> (status: Int32, stdout: Data, stderr: String) {
        let r = try CLIRunner.run(args)
        return (r.status, r.output, r.stderr)
    }

    /// The fixture's sequences as FASTA.
    func fixtureFasta(_ name: String) throws -> (path: String, io: MiniSafetensors) {
        let io = try MiniSafetensors(path: fixtures.appendingPathComponent(name).appendingPathComponent("io.safetensors").path)
        let seqs = try JSONSerialization.jsonObject(with: Data(io.metadata["sequences"]!.utf8)) as! [String]
        let fasta = work.appendingPathComponent("in.fa")
        try seqs.enumerated().map { ">seq\($0.offset) test\n\($0.element)\n" }.joined().write(to: fasta, atomically: true, encoding: .utf8)
        return (fasta.path, io)
    }

    func testPerBaseReproducesCaduceusPS() throws {
        let model = fixtures.appendingPathComponent("caduceus/caduceus_ps").path
        let (fasta, io) = try fixtureFasta("caduceus/caduceus_ps")
        let r = try run(["embed", "--model", model, "--precision", "fp32", "--per-base", fasta])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n")
        let (shape, expected) = try io.floats("last_hidden_state")  // (batch, L, outputDim)
        XCTAssertEqual(lines.first.map(String.init), "seq_id\tposition\t" + (0..<shape[2]).map { "e\($0)" }.joined(separator: "\t"))
        XCTAssertEqual(lines.count, 1 + shape[0] * shape[1])
        var worst: Float = 0
        for (i, line) in lines.dropFirst().enumerated() {
            let f = line.split(separator: "\t")
            let b = i / shape[1], t = i % shape[1]
            XCTAssertEqual(String(f[0]), "seq\(b)")
            XCTAssertEqual(Int(f[1]), t + 1)
            XCTAssertEqual(f.count, 2 + shape[2])
            for c in 0..<shape[2] { worst = max(worst, abs(Float(f[2 + c])! - expected[i * shape[2] + c])) }
        }
        print("embed --per-base caduceus_ps: max abs error \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-4)

        // Same through -o and safetensors output.
        let out = work.appendingPathComponent("emb.safetensors").path
        let s = try run(["embed", "--model", model, "--precision", "fp32", "--format", "safetensors", "-o", out, fasta])
        XCTAssertEqual(s.status, 0, s.stderr)
        let st = try MiniSafetensors(path: out)
        var worstST: Float = 0
        for b in 0..<shape[0] {
            let (sh, v) = try st.floats("seq\(b)")
            XCTAssertEqual(sh, [shape[1], shape[2]])
            for i in 0..<v.count { worstST = max(worstST, abs(v[i] - expected[b * shape[1] * shape[2] + i])) }
        }
        XCTAssertLessThanOrEqual(worstST, 1e-4)
    }

    func testPooledMean() throws {
        let model = fixtures.appendingPathComponent("caduceus/caduceus_ph").path
        let (fasta, io) = try fixtureFasta("caduceus/caduceus_ph")
        let out = work.appendingPathComponent("pooled.tsv").path
        let r = try run(["embed", "--model", model, "--precision", "fp32", "--pool", "mean", "-o", out, fasta])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.isEmpty)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        let (shape, h) = try io.floats("last_hidden_state")
        XCTAssertEqual(lines.count, 1 + shape[0])
        XCTAssertTrue(lines[0].hasPrefix("seq_id\tlength\te0\t"))
        for b in 0..<shape[0] {
            let f = lines[1 + b].split(separator: "\t")
            XCTAssertEqual(Int(f[1]), shape[1])
            for c in 0..<shape[2] {
                var m: Float = 0
                for t in 0..<shape[1] { m += h[(b * shape[1] + t) * shape[2] + c] }
                XCTAssertEqual(Float(f[2 + c])!, m / Float(shape[1]), accuracy: 1e-4)
            }
        }
    }

    /// -r on an indexed FASTA: the slice is embedded on its own, rows carry reference coordinates.
    func testRegionOfIndexedFasta() throws {
        let model = fixtures.appendingPathComponent("caduceus/caduceus_ps").path
        let (_, io) = try fixtureFasta("caduceus/caduceus_ps")
        let seq = (try JSONSerialization.jsonObject(with: Data(io.metadata["sequences"]!.utf8)) as! [String])[0]
        let fasta = work.appendingPathComponent("ref.fa")
        try ">chrT desc\n\(seq)\n".write(to: fasta, atomically: true, encoding: .utf8)
        // .fai: name, length, offset of the first base, bases per line, bytes per line
        try "chrT\t\(seq.count)\t\(">chrT desc\n".utf8.count)\t\(seq.count)\t\(seq.count + 1)\n"
            .write(to: URL(fileURLWithPath: fasta.path + ".fai"), atomically: true, encoding: .utf8)
        let r = try run(["embed", "--model", model, "-r", "chrT:11-30", fasta.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.map { String($0.split(separator: "\t")[1]) }, (11...30).map(String.init))
        XCTAssertTrue(rows.allSatisfy { $0.hasPrefix("chrT\t") })
        // same numbers as embedding the slice as its own FASTA record
        let slice = work.appendingPathComponent("slice.fa")
        let start = seq.index(seq.startIndex, offsetBy: 10)
        try ">chrT\n\(seq[start..<seq.index(start, offsetBy: 20)])\n".write(to: slice, atomically: true, encoding: .utf8)
        let s = try run(["embed", "--model", model, slice.path])
        let sliceRows = String(decoding: s.stdout, as: UTF8.self).split(separator: "\n").dropFirst()
        for (a, b) in zip(rows, sliceRows) {
            XCTAssertEqual(a.split(separator: "\t").dropFirst(2), b.split(separator: "\t").dropFirst(2))
        }
    }

    // MARK: failures: exit ≠ 0, one line on stderr, no output file

    func copyModel(_ name: String) throws -> URL {
        let dst = work.appendingPathComponent("model-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dst, withIntermediateDirectories: true)
        for f in ["config.json", "model.safetensors"] {
            let target = dst.appendingPathComponent(f)
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name).appendingPathComponent(f), to: target)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target.path)
        }
        return dst
    }

    /// One error line naming `names` (the file or value at fault), no output file nor temporary left behind.
    func expectFailure(model: String, input: String, naming names: [String], line: UInt = #line) throws {
        let out = work.appendingPathComponent("out.tsv").path
        let r = try CLIRunner.run(["embed", "--model", model, "-o", out, input])
        try CLIRunner.assertFailedCleanly(r, naming: names, in: work, leftover: "out.tsv", line: line)
        print("embed failure: \(r.stderr.trimmingCharacters(in: .newlines))")
    }

    func testBadModels() throws {
        let (fasta, _) = try fixtureFasta("caduceus/caduceus_ps")
        // missing directory
        try expectFailure(model: work.appendingPathComponent("nope").path, input: fasta, naming: [work.appendingPathComponent("nope").path])
        // missing safetensors
        var m = try copyModel("caduceus/caduceus_ps")
        try FileManager.default.removeItem(at: m.appendingPathComponent("model.safetensors"))
        try expectFailure(model: m.path, input: fasta, naming: [m.path, "model.safetensors"])
        // truncated safetensors
        m = try copyModel("caduceus/caduceus_ps")
        let st = m.appendingPathComponent("model.safetensors")
        let full = try Data(contentsOf: st)
        try full.prefix(full.count / 2).write(to: st)
        try expectFailure(model: m.path, input: fasta, naming: [st.path])
        // corrupt header
        var junk = full
        junk.replaceSubrange(8..<20, with: Array(repeating: UInt8(ascii: "#"), count: 12))
        try junk.write(to: st)
        try expectFailure(model: m.path, input: fasta, naming: [st.path])
        // config / tensor mismatch
        m = try copyModel("caduceus/caduceus_ps")
        let cfg = m.appendingPathComponent("config.json")
        let text = try String(contentsOf: cfg, encoding: .utf8)
        var wider = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        wider["d_model"] = try XCTUnwrap(wider["d_model"] as? Int) + 16   // whatever the fixture's width, not the tensors'
        try JSONSerialization.data(withJSONObject: wider).write(to: cfg)
        try expectFailure(model: m.path, input: fasta, naming: [m.path])
        // unknown architecture
        try text.replacingOccurrences(of: "\"model_type\": \"caduceus\"", with: "\"model_type\": \"hyena\"")
            .write(to: cfg, atomically: true, encoding: .utf8)
        try expectFailure(model: m.path, input: fasta, naming: ["hyena"])
        // missing input
        try expectFailure(model: fixtures.appendingPathComponent("caduceus/caduceus_ps").path,
                          input: work.appendingPathComponent("missing.fa").path, naming: [work.appendingPathComponent("missing.fa").path])
    }

    /// `--precision`: bf16 stays within 1e-2 (relative, by norm) of the reference states (bf16 keeps 8 significant
    /// bits: about 3e-3 per projection, `PrecisionTests` has the argument); where the CPU's bf16 is hidden it runs fp32
    /// and writes the fp32 bytes; an unknown precision fails before any output is written.
    func testPrecisionOption() throws {
        let model = fixtures.appendingPathComponent("caduceus/caduceus_ps").path
        let (fasta, io) = try fixtureFasta("caduceus/caduceus_ps")
        let (_, expected) = try io.floats("last_hidden_state")
        func embed(_ precision: String, env: [String: String] = [:]) throws -> (CLIRunner.Result, [Float]) {
            let out = work.appendingPathComponent("emb-\(precision)-\(env.count).safetensors").path
            let r = try CLIRunner.run(["embed", "--model", model, "--precision", precision, "--format", "safetensors",
                                       "-o", out, fasta], environment: env)
            guard r.status == 0 else { return (r, []) }
            let st = try MiniSafetensors(path: out)
            let names = st.header.keys.filter { $0.hasPrefix("seq") }.sorted()
            return (r, try names.flatMap { try st.floats($0).1 })
        }
        let (fp32Run, fp32) = try embed("fp32")
        XCTAssertEqual(fp32Run.status, 0, fp32Run.stderr)
        XCTAssertEqual(fp32.count, expected.count)

        let cpuHasBF16 = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").contains(" avx512_bf16")
            || ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").contains(" amx_bf16")
        if cpuHasBF16 {
            let (r, bf16) = try embed("bf16")
            XCTAssertEqual(r.status, 0, r.stderr)
            var num = 0.0, den = 0.0
            for i in expected.indices {
                num += Double(bf16[i] - expected[i]) * Double(bf16[i] - expected[i])
                den += Double(expected[i]) * Double(expected[i])
            }
            let rel = (num / den).squareRoot()
            print("embed --precision bf16: relative error by norm \(rel)")
            XCTAssertLessThanOrEqual(rel, 1e-2)
            XCTAssertGreaterThan(rel, 1e-6, "bf16 output equals the fp32 output")
        }
        let (hidden, fallback) = try embed("bf16", env: ["MAMBA_DNA_NO_BF16": "1"])
        XCTAssertEqual(hidden.status, 0, hidden.stderr)
        XCTAssertEqual(fallback, fp32)

        let out = work.appendingPathComponent("bad.tsv")
        let bad = try CLIRunner.run(["embed", "--model", model, "--precision", "fp16", "-o", out.path, fasta])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    /// `--format npy`: the same float32 values as the TSV (which prints each fp32 exactly), in the TSV's row order,
    /// with `OUTPUT.rows.tsv` naming the rows; NumPy reads the array back. stdout cannot take it.
    func testNPYHoldsTheTSVValues() throws {
        let model = CLIRunner.repository.appendingPathComponent("Fixtures/models/encoder").path
        let fasta = work.appendingPathComponent("r.fa")
        try (0..<3).map { ">r\($0)\n\(String(repeating: "ACGTTGCA", count: 3 + $0))\n" }.joined().write(to: fasta, atomically: true, encoding: .utf8)
        for pool in [[String](), ["--pool", "mean"]] {
            let npy = work.appendingPathComponent("e.npy").path, tsv = work.appendingPathComponent("e.tsv").path
            XCTAssertEqual(try run(["embed", "--model", model, "--format", "npy", "-o", npy, fasta.path] + pool).status, 0)
            XCTAssertEqual(try run(["embed", "--model", model, "-o", tsv, fasta.path] + pool).status, 0)
            let rows = try String(contentsOfFile: tsv, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: "\t") }
            let expected = rows.flatMap { $0.dropFirst(2).map { Float(String($0))! } }
            let names = try String(contentsOfFile: npy + ".rows.tsv", encoding: .utf8).split(separator: "\n").dropFirst()
            XCTAssertEqual(names.map(String.init), rows.map { $0[0...1].joined(separator: "\t") })
            // .npy 1.0: magic, version, little-endian header length, the header dict, then the data.
            let bytes = try Data(contentsOf: URL(fileURLWithPath: npy))
            XCTAssertEqual(Array(bytes.prefix(6)), [0x93] + Array("NUMPY".utf8))
            let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
            let dim = rows.first!.count - 2
            XCTAssertTrue(header.contains("'descr': '<f4'") && header.contains("'shape': (\(rows.count), \(dim))"), header)
            let values = bytes[(10 + headerLength)...].withUnsafeBytes { raw in
                (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
            }
            XCTAssertEqual(values, expected)
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"),
               try CLIRunner.launch(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", "import numpy"]).status == 0 {
                let np = try CLIRunner.launch(URL(fileURLWithPath: "/usr/bin/python3"),
                                              ["-c", "import numpy, sys; a = numpy.load(sys.argv[1]); print(a.shape, a.dtype, float(a.sum()))", npy])
                XCTAssertEqual(np.status, 0, np.stderr)
                XCTAssertTrue(np.stdout.hasPrefix("(\(rows.count), \(dim)) float32"), np.stdout)
            }
        }
        let refused = try CLIRunner.run(["embed", "--model", model, "--format", "npy", fasta.path])
        XCTAssertNotEqual(refused.status, 0)
    }
}

/// Just enough safetensors reading for checking outputs (F32/I64, little-endian).
struct MiniSafetensors {
    let bytes: Data
    let header: [String: Any]
    let start: Int

    init(path: String) throws {
        bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = Int(bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as! [String: Any]
        start = 8 + n
    }

    var metadata: [String: String] { header["__metadata__"] as? [String: String] ?? [:] }

    func floats(_ name: String) throws -> ([Int], [Float]) {
        let e = header[name] as! [String: Any]
        XCTAssertEqual(e["dtype"] as? String, "F32")
        let shape = (e["shape"] as! [Any]).map { ($0 as! NSNumber).intValue }
        let off = (e["data_offsets"] as! [Any]).map { ($0 as! NSNumber).intValue }
        let count = (off[1] - off[0]) / 4
        let values = bytes.withUnsafeBytes { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: start + off[0] + 4 * $0, as: Float.self) }
        }
        return (shape, values)
    }
}
