import Foundation
import XCTest

/// Bad input and faults, each run through the built binary: the documented exit status, one error line naming the
/// file or option at fault, and the output left as it was (an earlier file at `-o` keeps its bytes, no temporary
/// file remains). The README's "Bad input" table lists the same cases with the same exit statuses; a test checks
/// that the two agree.
final class BadInputTests: XCTestCase {
    struct Case {
        var name: String                 // as in the README table
        var status: Int32
        var arguments: (URL) throws -> [String]
        var naming: (URL) -> [String] = { _ in [] }
        /// What `-o` points at, in the case's folder: a file written beforehand unless the case made it, "." for
        /// the folder itself; nil: no `-o` added.
        var output: String? = "out.tsv"
    }

    static let repository = CLIRunner.repository
    static let reads = repository.appendingPathComponent("Fixtures/demo/species_reads.fa").path
    static let seqio = repository.appendingPathComponent("Fixtures/seqio").path
    static let speciesModel = repository.appendingPathComponent("Fixtures/models/species").path
    static let encoder = repository.appendingPathComponent("Fixtures/models/encoder").path

    static func write(_ text: String, _ dir: URL, _ name: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    static func firstBytes(of path: String, _ n: Int, _ dir: URL, _ name: String) throws -> String {
        let out = dir.appendingPathComponent(name).path
        try Data(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(n)).write(to: URL(fileURLWithPath: out))
        return out
    }

    /// A copy of the bundled species model whose safetensors file `edit` rewrites (header JSON, data bytes).
    static func editedModel(_ dir: URL, _ name: String,
                            edit: (inout [String: Any], inout Data) throws -> Void = { _, _ in },
                            config: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        let out = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(atPath: speciesModel, toPath: out.path)
        let weights = out.appendingPathComponent("model.safetensors")
        let file = try Data(contentsOf: weights)
        let n = Int(file.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var header = try JSONSerialization.jsonObject(with: file.subdata(in: 8..<(8 + n))) as! [String: Any]
        var data = file.subdata(in: (8 + n)..<file.count)
        try edit(&header, &data)
        var json = try JSONSerialization.data(withJSONObject: header)
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Data($0) }
        bytes.append(json)
        bytes.append(data)
        try bytes.write(to: weights)
        let configURL = out.appendingPathComponent("config.json")
        var cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        config(&cfg)
        try JSONSerialization.data(withJSONObject: cfg).write(to: configURL)
        return out.path
    }

    /// Removes one tensor and packs the others' bytes together again (a well-formed file without that tensor).
    static func dropTensor(_ name: String) -> (inout [String: Any], inout Data) throws -> Void {
        { header, data in
            header.removeValue(forKey: name)
            var packed = Data()
            let tensors = header.filter { $0.key != "__metadata__" }
                .map { ($0.key, $0.value as! [String: Any]) }
                .sorted { ($0.1["data_offsets"] as! [Int])[0] < ($1.1["data_offsets"] as! [Int])[0] }
            for (key, var entry) in tensors {
                let o = entry["data_offsets"] as! [Int]
                let start = packed.count
                packed.append(data.subdata(in: o[0]..<o[1]))
                entry["data_offsets"] = [start, packed.count]
                header[key] = entry
            }
            data = packed
        }
    }

    static let cases: [Case] = [
        Case(name: "input file missing", status: 1, arguments: { ["classify", $0.appendingPathComponent("none.fa").path] },
             naming: { [$0.appendingPathComponent("none.fa").path] }),
        Case(name: "input is a directory", status: 1, arguments: { ["classify", $0.path] }, naming: { [$0.path] }),
        Case(name: "not FASTA/FASTQ (no `>` or `@`)", status: 1, arguments: { _ in ["classify", seqio + "/no-header.fa"] },
             naming: { _ in ["no-header.fa"] }),
        Case(name: "truncated gzip", status: 1,
             arguments: { ["classify", try firstBytes(of: seqio + "/reads.fq.gz", 3000, $0, "cut.fq.gz")] },
             naming: { _ in ["cut.fq.gz"] }),
        Case(name: "BGZF without its end-of-file block", status: 1,
             arguments: { ["classify", try firstBytes(of: seqio + "/reads.fq.bgz", 3000, $0, "cut.fq.bgz")] },
             naming: { _ in ["cut.fq.bgz"] }),
        Case(name: "bzip2 (unsupported compression)", status: 1,
             arguments: { ["classify", try write("BZh91AY&SY\u{1}\u{2}\u{3}", $0, "reads.fa.bz2")] },
             naming: { _ in ["reads.fa.bz2"] }),
        Case(name: "FASTQ record without qualities", status: 1,
             arguments: { ["classify", try write("@a\nACGT\n+\n", $0, "noqual.fq")] }, naming: { _ in ["noqual.fq"] }),
        Case(name: "FASTQ quality line shorter than the bases", status: 1,
             arguments: { ["classify", try write("@a\nACGTACG\n+\nIIII\n@b\nACGT\n+\nIIII\n", $0, "short.fq")] },
             naming: { _ in ["short.fq", "'a'"] }),
        Case(name: "`annotate` of a file that is not SAM/BAM/CRAM", status: 1,
             arguments: { ["annotate", try write("not an alignment\n", $0, "x.bam"), "-f", seqio + "/ref.fa"] },
             naming: { _ in ["x.bam"] }, output: "out.vcf"),
        Case(name: "region query on a BAM without index", status: 1,
             arguments: {
                 let bam = $0.appendingPathComponent("noindex.bam").path
                 try FileManager.default.copyItem(atPath: seqio + "/aln.bam", toPath: bam)
                 return ["annotate", bam, "-f", seqio + "/ref.fa", "-r", "chr1:1-100"]
             }, naming: { _ in ["noindex.bam"] }, output: "out.vcf"),
        Case(name: "region with begin after end", status: 1,
             arguments: { _ in ["annotate", seqio + "/aln.bam", "-f", seqio + "/ref.fa", "-r", "chr1:50-10"] },
             naming: { _ in ["chr1:50-10"] }, output: "out.vcf"),
        Case(name: "region on an unknown contig", status: 1,
             arguments: { _ in ["annotate", seqio + "/aln.bam", "-f", seqio + "/ref.fa", "-r", "nosuch:1-10"] },
             naming: { _ in ["nosuch"] }, output: "out.vcf"),
        Case(name: "variant calling without `-f` reference", status: 2,
             arguments: { _ in ["annotate", seqio + "/aln.cram", "-r", "chr1:1-100"] },
             naming: { _ in ["-f"] }, output: "out.vcf"),
        Case(name: "malformed BED for `-R`", status: 1,
             arguments: { ["annotate", seqio + "/aln.bam", "-f", seqio + "/ref.fa", "-R", try write("chr1\tx\t9\n", $0, "r.bed")] },
             naming: { _ in ["r.bed"] }, output: "out.vcf"),
        Case(name: "malformed MEME motif file", status: 1,
             arguments: {
                 ["annotate", "-f", seqio + "/ref.fa", "--motifs",
                  try write("MOTIF m\nletter-probability matrix: alength= 4 w= 2\n0.5 0.5\n", $0, "m.meme")]
             }, naming: { _ in ["m.meme"] }, output: "out.bed"),
        Case(name: "`config.json` that is not JSON", status: 1,
             arguments: {
                 let dir = try editedModel($0, "model")
                 _ = try write("{ \"d_model\": ", URL(fileURLWithPath: dir), "config.json")
                 return ["classify", reads, "--model", dir]
             }, naming: { _ in ["config.json"] }),
        Case(name: "safetensors without a tensor the config needs", status: 1,
             arguments: { ["classify", reads, "--model", try editedModel($0, "model", edit: dropTensor("backbone.norm_f.weight"))] },
             naming: { _ in ["model.safetensors", "backbone.norm_f.weight"] }),
        Case(name: "safetensors file cut short", status: 1,
             arguments: {
                 let dir = try editedModel($0, "model")
                 _ = try firstBytes(of: dir + "/model.safetensors", 6, URL(fileURLWithPath: dir), "model.safetensors")
                 return ["classify", reads, "--model", dir]
             }, naming: { _ in ["model.safetensors"] }),
        Case(name: "tensor shape that disagrees with `config.json`", status: 1,
             arguments: { ["classify", reads, "--model", try editedModel($0, "model", config: { $0["d_model"] = 96 })] },
             naming: { _ in ["model.safetensors", "backbone.embedding.weight"] }),
        Case(name: "tensor shape of 2^31 × 2^31", status: 1,
             arguments: {
                 ["classify", reads, "--model", try editedModel($0, "model", edit: { header, _ in
                     var e = header["backbone.embedding.weight"] as! [String: Any]
                     e["shape"] = [2_147_483_648, 2_147_483_648]
                     header["backbone.embedding.weight"] = e
                 })]
             }, naming: { _ in ["model.safetensors", "backbone.embedding.weight"] }),
        Case(name: "NaN in a weight", status: 1,
             arguments: {
                 ["classify", reads, "--model", try editedModel($0, "model", edit: { header, data in
                     let o = ((header["backbone.layers.1.mixer.out_proj.weight"] as! [String: Any])["data_offsets"] as! [Int])[0]
                     withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { data.replaceSubrange(o..<(o + 4), with: $0) }
                 })]
             }, naming: { _ in ["backbone.layers.1.mixer.out_proj.weight"] }),
        Case(name: "`--model` folder that is not a model", status: 1,
             arguments: {
                 let dir = $0.appendingPathComponent("empty")
                 try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
                 return ["classify", reads, "--model", dir.path]
             }, naming: { [$0.appendingPathComponent("empty").path] }),
        Case(name: "`--threads 0`", status: 2, arguments: { _ in ["classify", reads, "--threads", "0"] },
             naming: { _ in ["--threads"] }),
        Case(name: "unknown option", status: 64, arguments: { _ in ["classify", reads, "--frobnicate"] },
             naming: { _ in ["--frobnicate"] }),
        Case(name: "`--pool` with an unknown value", status: 2,
             arguments: { _ in ["embed", "--model", encoder, "--pool", "median", reads] }, naming: { _ in ["--pool"] }),
        Case(name: "`-o` is a directory", status: 1, arguments: { _ in ["classify", reads] }, output: "."),
        Case(name: "`-o` in a missing folder", status: 1,
             arguments: { ["classify", reads, "-o", $0.appendingPathComponent("no/such/out.tsv").path] },
             naming: { _ in ["no/such"] }, output: nil),
        Case(name: "`-o` names the input", status: 1,
             arguments: {
                 let input = $0.appendingPathComponent("out.tsv").path
                 try FileManager.default.copyItem(atPath: reads, toPath: input)
                 return ["classify", input]
             }, naming: { _ in ["out.tsv"] }),
        Case(name: "`--shard 3/2`", status: 2, arguments: { _ in ["classify", reads, "--shard", "3/2"] },
             naming: { _ in ["--shard"] }),
        Case(name: "`--shard` with input on stdin", status: 1, arguments: { _ in ["classify", "-", "--shard", "1/2"] },
             naming: { _ in ["--shard"] }),
        Case(name: "`merge` of a file that is not a part", status: 1, arguments: { _ in ["merge", reads] },
             naming: { _ in [reads] }),
        Case(name: "`embed --format safetensors --shard`", status: 1,
             arguments: { _ in ["embed", "--model", encoder, reads, "--format", "safetensors", "--shard", "1/2"] },
             naming: { _ in ["--shard"] }, output: "out.safetensors"),
        Case(name: "`train` on reads without labels", status: 1,
             arguments: { ["train", "--task", "classify", reads, "-o", $0.appendingPathComponent("model").path] },
             naming: { _ in [reads] }, output: nil),
        Case(name: "`info --regions 0`", status: 2, arguments: { _ in ["info", seqio + "/ref.fa", "--regions", "0"] },
             naming: { _ in ["--regions"] }, output: nil),
    ]

    func testEveryCaseFailsCleanlyAndLeavesTheOutputAlone() throws {
        for c in Self.cases {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bad-input-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            var args = try c.arguments(dir)
            let previous = "earlier output\n"
            if let output = c.output {
                let out = dir.appendingPathComponent(output).path
                if !FileManager.default.fileExists(atPath: out) { try previous.write(toFile: out, atomically: false, encoding: .utf8) }
                args += ["-o", out]
            }
            let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            let snapshot = c.output.map { try? Data(contentsOf: dir.appendingPathComponent($0)) } ?? nil
            let r = try CLIRunner.run(args)
            XCTAssertEqual(r.status, c.status, "\(c.name): \(r.stderr)")
            try CLIRunner.assertFailedCleanly(r, naming: c.naming(dir))
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), before,
                           "\(c.name): files appeared or went")
            if let output = c.output {
                XCTAssertEqual(try? Data(contentsOf: dir.appendingPathComponent(output)), snapshot, "\(c.name): output changed")
            }
        }
    }

    /// A command whose standard output fills the disk: exit 1 and one line, not a trap.
    func testStandardOutputOnAFullDisk() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        let r = try CLIRunner.runShell("\"$MAMBA_DNA\" info '\(Self.seqio)/ref.fa' > /dev/full")
        XCTAssertEqual(r.status, 1, r.stderr)
        try CLIRunner.assertFailedCleanly(r, naming: ["stdout"])
    }

    /// The README's table lists every case here, with the same exit status.
    func testReadmeListsEveryCaseWithItsExitStatus() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        var listed: [String: Int32] = [:]
        for line in readme.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            for i in stride(from: 0, to: cells.count - 1, by: 2) {
                if let status = Int32(cells[i + 1]) { listed[cells[i]] = status }
            }
        }
        for c in Self.cases + [Case(name: "standard output on a full disk", status: 1, arguments: { _ in [] })] {
            XCTAssertEqual(listed[c.name], c.status, "README row for '\(c.name)'")
        }
        XCTAssertGreaterThanOrEqual(Self.cases.count + 1, 30)
    }
}
