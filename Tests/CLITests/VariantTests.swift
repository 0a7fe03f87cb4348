import Foundation
import XCTest

/// `mamba-dna annotate` on alignments (variant calls, VCF) and `train --task variants`, on the tiny
/// fixture in Fixtures/variants (a SNP, a deletion and an insertion on chrT; see make-fixtures.sh).
final class VariantTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/variants")
    func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    var work: URL!
    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("variant-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }
    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    func run(_ args: [String], executable: URL? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try executable.map { try CLIRunner.launch($0, args) } ?? CLIRunner.run(args)
        return (r.status, r.stdout, r.stderr)
    }

    /// bcftools, which the VCF checks compare against.
    func bcftools() throws -> URL { try CLIRunner.tool("bcftools") }

    /// (CHROM, POS, REF, ALT, GT) of the records of a plain VCF.
    func records(_ vcf: String) -> [[String]] {
        vcf.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let f = line.split(separator: "\t").map(String.init)
            return [f[0], f[1], f[3], f[4], String(f[9].split(separator: ":")[0])]
        }
    }

    /// A model trained on the fixture itself (tiny and fast); the shipped model is tested separately.
    func fixtureModel() throws -> String {
        let dir = path("model")
        let r = try run(["train", "--task", "variants", "--bam", fixture("aln.bam"), "--reference", fixture("ref.fa"),
                         "--truth", fixture("truth.vcf.gz"), "--mlp-epochs", "200", "-o", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        return dir
    }

    func testTrainWritesModelAndCallsKnownVariants() throws {
        let model = try fixtureModel()
        for f in ["config.json", "model.safetensors", "training_summary.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: model + "/" + f), f)
        }
        let r = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model, "-o", "-"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let calls = records(r.stdout)
        XCTAssertEqual(calls.map { Array($0[0..<4]) }, [["chrT", "1000", "T", "A"], ["chrT", "2000", "TTG", "T"],
                                                      ["chrT", "2500", "G", "GGTC"]])
        XCTAssertTrue(calls.allSatisfy { $0[4] == "1" })
    }

    func testShippedModelCallsKnownVariants() throws {
        let r = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "-o", "-"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(records(r.stdout).map { Array($0[0..<4]) }, [["chrT", "1000", "T", "A"], ["chrT", "2000", "TTG", "T"],
                                                                  ["chrT", "2500", "G", "GGTC"]])
    }

    func testShippedModelReadsWholeReadEvidence() throws {
        let config = Self.fixtures.deletingLastPathComponent().appendingPathComponent("models/variants/config.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any]
        let features = json?["features"] as? [String] ?? []
        for f in ["alt_other_edits", "alt_second_hit_fraction", "alt_discordant_fraction", "ref_clipped_fraction",
                  "alt_rescued_fraction", "rescued_fraction"] {
            XCTAssertTrue(features.contains(f), f)
        }
    }

    func testHaplotypeEvidenceCountsReadsEndingAtAnIndelForNeither() throws {
        // In the pileup, reads that end inside or next to the fixture's indels show the reference at the
        // anchor; compared against the haplotypes they fit both equally and count for neither.
        let pileup = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--haplotype-evidence", "off"])
        let haplotypes = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa")])
        XCTAssertEqual(pileup.status, 0, pileup.stderr)
        XCTAssertEqual(haplotypes.status, 0, haplotypes.stderr)
        func ad(_ out: String, _ pos: String) -> [Int] {
            let lines = out.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t") }
            guard let f = lines.first(where: { $0.count > 9 && $0[1] == pos }) else { return [] }
            let keys = f[8].split(separator: ":"), values = f[9].split(separator: ":")
            guard let i = keys.firstIndex(of: "AD"), i < values.count else { return [] }
            return values[i].split(separator: ",").compactMap { Int($0) }
        }
        for pos in ["2000", "2500"] {
            XCTAssertGreaterThan(ad(pileup.stdout, pos).first ?? 0, 0, pileup.stdout)
            XCTAssertEqual(ad(haplotypes.stdout, pos).first, 0, haplotypes.stdout)
            XCTAssertGreaterThanOrEqual(ad(haplotypes.stdout, pos).last ?? 0, 18, haplotypes.stdout)
        }
        // The SNP keeps its pileup counts.
        XCTAssertEqual(ad(pileup.stdout, "1000"), ad(haplotypes.stdout, "1000"))
        let bad = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--haplotype-evidence", "some"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertEqual(bad.stdout, "", "a rejected option writes no VCF")
    }

    /// Reads soft-clipped at a 20-bp deletion among reads with odd records (CIGAR `=`/`X`/`N`/`P`/`H`, no MD,
    /// QUAL `*` or 0, secondary and supplementary records) and an all-N contig: the deletion is called with the
    /// clipped reads on it, and nothing crashes.
    func testLongDeletionWithClippedAndOddReads() throws {
        let samtools = try CLIRunner.tool("samtools")
        var x: UInt32 = 4242
        let ref: [Character] = (0..<800).map { _ in x = x &* 1_103_515_245 &+ 12345; return Array("ACGT")[Int((x >> 16) & 3)] }
        let alt = Array(ref[...400]) + Array(ref[421...])      // deletes 0-based 401..<421
        let fasta = path("odd.fa")
        try (">chrA\n" + String(ref) + "\n>chrN\n" + String(repeating: "N", count: 300) + "\n").write(toFile: fasta, atomically: true, encoding: .utf8)
        XCTAssertEqual(try run(["faidx", fasta], executable: samtools).status, 0)
        var sam = "@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chrA\tLN:800\n@SQ\tSN:chrN\tLN:300\n"
        var n = 0
        func add(_ pos: Int, _ cigar: String, _ seq: [Character], flag: Int = 0, qual: String? = nil, contig: String = "chrA") {
            n += 1
            sam += "r\(n)\t\(flag)\t\(contig)\t\(pos + 1)\t60\t\(cigar)\t*\t0\t0\t\(String(seq))\t\(qual ?? String(repeating: "I", count: seq.count))\n"
        }
        for (i, s) in stride(from: 304, through: 396, by: 4).enumerated() {
            let left = 401 - s   // aligned bases before the deletion
            let seq = Array(alt[s..<(s + 100)])
            if i % 3 == 0 { add(s, "\(left)M20D\(100 - left)M", seq) } else { add(s, "\(left)M\(100 - left)S", seq) }
        }
        for t in stride(from: 402, through: 520, by: 6) { add(t + 20, "100M", Array(alt[t..<(t + 100)])) }
        for s in stride(from: 100, through: 200, by: 10) { add(s, "100M", Array(ref[s..<(s + 100)])) }
        add(150, "50=50X", Array(ref[150..<250]))
        add(120, "30M100N70M", Array(ref[120..<150]) + Array(ref[250..<320]))
        add(300, "5H95M", Array(ref[300..<395]))
        add(310, "50M1P50M", Array(ref[310..<410]))
        add(330, "\(71)M29S", Array(alt[330..<430]), qual: "*")
        add(340, "\(61)M39S", Array(alt[340..<440]), qual: String(repeating: "!", count: 100))
        add(350, "\(51)M49S", Array(alt[350..<450]), flag: 256)
        add(360, "\(41)M59S", Array(alt[360..<460]), flag: 2048)
        for s in stride(from: 0, through: 180, by: 20) { add(s, "40M20D60M", Array(repeating: "N", count: 100), contig: "chrN") }
        let samPath = path("odd.sam"), bam = path("odd.bam")
        try sam.write(toFile: samPath, atomically: true, encoding: .utf8)
        let sorted = try run(["sort", "-o", bam, samPath], executable: samtools)
        XCTAssertEqual(sorted.status, 0, sorted.stderr)
        XCTAssertEqual(try run(["index", bam], executable: samtools).status, 0)
        let r = try run(["annotate", bam, "-f", fasta])
        XCTAssertEqual(r.status, 0, r.stderr)
        let deletion = r.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t") }
            .first { $0[3].count == 21 && $0[4].count == 1 }
        XCTAssertNotNil(deletion, r.stdout)
        if let d = deletion {
            XCTAssertEqual(String(d[6]), "PASS", r.stdout)
            // Clipped reads count for the deletion: more alt reads than the 8 that span it, and one reference read
            // (the `P` read, made from the reference through the deleted bases).
            let ad = d[9].split(separator: ":")[3].split(separator: ",").compactMap { Int(String($0)) }
            XCTAssertEqual(ad.first, 1, r.stdout)
            XCTAssertGreaterThan(ad.last ?? 0, 15, r.stdout)
        }
        let pileupCounts = try run(["annotate", bam, "-f", fasta, "--haplotype-evidence", "off"])
        XCTAssertEqual(pileupCounts.status, 0, pileupCounts.stderr)
        XCTAssertFalse(pileupCounts.stdout.split(separator: "\n").contains { !$0.hasPrefix("#") && $0.split(separator: "\t")[3].count == 21 },
                       "pileup counts (clipped reads counted as reference) should reject it: \(pileupCounts.stdout)")
    }

    func testHaploidMinFraction() throws {
        let model = try fixtureModel()
        // The fixture's variants are on most reads: a majority floor keeps them, a floor above their
        // allele fraction drops them (pileup counts: reads that end at an indel count as reference there).
        let r = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model,
                         "--haploid-min-fraction", "0.5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(records(r.stdout).count, 3, r.stdout)
        let all = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model,
                           "--haploid-min-fraction", "1", "--haplotype-evidence", "off"])
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertLessThan(records(all.stdout).count, 3, all.stdout)
        let bad = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model,
                           "--haploid-min-fraction", "1.5"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--haploid-min-fraction"), bad.stderr)
    }

    func testAllCandidatesAddsRejectedCandidatesAsRefCalls() throws {
        let model = try fixtureModel()
        // A floor above the variants' allele fraction makes the genotyper reject some of them; with
        // --all-candidates they come back as reference calls, and the variant calls stay the same.
        let base = ["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model,
                    "--haploid-min-fraction", "1", "--haplotype-evidence", "off"]
        let calls = try run(base)
        XCTAssertEqual(calls.status, 0, calls.stderr)
        XCTAssertFalse(calls.stdout.contains("RefCall"), calls.stdout)
        let all = try run(base + ["--all-candidates"])
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertTrue(all.stdout.contains("##FILTER=<ID=RefCall"), all.stdout)
        let written = records(all.stdout)
        let refCalls = written.filter { $0[4] == "0" }
        XCTAssertFalse(refCalls.isEmpty, all.stdout)
        XCTAssertEqual(written.filter { $0[4] != "0" }, records(calls.stdout), all.stdout)
        let filters = all.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t")[6] }
        XCTAssertEqual(filters.filter { $0 == "RefCall" }.count, refCalls.count, all.stdout)
        // Every fixture variant was a candidate: called or written as a reference call.
        for v in [["chrT", "1000", "T", "A"], ["chrT", "2000", "TTG", "T"], ["chrT", "2500", "G", "GGTC"]] {
            XCTAssertTrue(written.contains { Array($0[0..<4]) == v }, "\(v)")
        }
    }

    func testDiploidGenotypes() throws {
        let model = try fixtureModel()
        let r = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model, "--ploidy", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(records(r.stdout).allSatisfy { $0[4] == "1/1" }, r.stdout)
    }

    func testVCFHeaderAndBcftoolsReadItWithoutWarnings() throws {
        let bcf = try bcftools()
        let model = try fixtureModel()
        let out = path("calls.vcf.gz")
        let r = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model, "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + ".tbi"), "tabix index")
        let view = try run(["view", out], executable: bcf)
        XCTAssertEqual(view.status, 0)
        XCTAssertEqual(view.stderr, "", "bcftools view warned")
        let lines = view.stdout.split(separator: "\n")
        XCTAssertEqual(lines.first, "##fileformat=VCFv4.3")
        for needle in ["##contig=<ID=chrT,length=3000>", "##contig=<ID=chrU,length=1000>", "##reference=file://",
                       "##FORMAT=<ID=GQ", "##FORMAT=<ID=AD", "##INFO=<ID=DP", "##FILTER=<ID=LowQual"] {
            XCTAssertTrue(lines.contains { $0.hasPrefix(needle) }, needle)
        }
        // Where the file came from and when: ##source names the tool and its version, ##fileDate is YYYYMMDD.
        let version = try run(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(lines.contains { $0.hasPrefix("##source=mamba-dna \(version) ") }, "##source with the version \(version)")
        let date = lines.first { $0.hasPrefix("##fileDate=") }.map { String($0.dropFirst("##fileDate=".count)) }
        XCTAssertEqual(date?.count, 8)
        XCTAssertNotNil(date.flatMap { Int($0) })
        let stats = try run(["stats", out], executable: bcf)
        XCTAssertEqual(stats.status, 0)
        XCTAssertEqual(stats.stderr, "", "bcftools stats warned")
        // The index answers a region query.
        let region = try run(["view", "-H", "-r", "chrT:990-1010", out], executable: bcf)
        XCTAssertEqual(region.status, 0, region.stderr)
        XCTAssertEqual(records("\(region.stdout)").map { $0[1] }, ["1000"])
    }

    /// The VCF's sample column: the read groups' SM when they name one sample (as bcftools), `--sample`
    /// over it, the file name's stem without read groups, and the stem with a note for several samples.
    func testSampleNameComesFromReadGroups() throws {
        let samtools = try CLIRunner.tool("samtools")
        let one = path("one.bam")
        let added = try run(["addreplacerg", "-r", "@RG\tID:g1\tSM:NA12878", "-o", one, fixture("aln.bam")], executable: samtools)
        XCTAssertEqual(added.status, 0, added.stderr)
        XCTAssertEqual(try run(["index", one], executable: samtools).status, 0)
        func sampleColumn(_ bam: String, _ extra: [String] = []) throws -> (String, String) {
            let out = path("s.vcf")
            try? FileManager.default.removeItem(atPath: out)
            let r = try run(["annotate", bam, "-f", fixture("ref.fa"), "-o", out] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            let header = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("#CHROM") }
            return (String(header?.split(separator: "\t").last ?? ""), r.stderr)
        }
        XCTAssertEqual(try sampleColumn(one).0, "NA12878")
        XCTAssertEqual(try sampleColumn(one, ["--sample", "mine"]).0, "mine")
        XCTAssertEqual(try sampleColumn(fixture("aln.bam")).0, "aln")
        // A header with read groups of two samples.
        let twoHeader = path("two.sam")
        let header = try run(["view", "-H", one], executable: samtools).stdout + "@RG\tID:g2\tSM:NA12891\n"
        try header.write(toFile: twoHeader, atomically: true, encoding: .utf8)
        let two = path("two.bam")
        let reheadered = try CLIRunner.launch(URL(fileURLWithPath: "/bin/sh"),
                                              ["-c", "'\(samtools.path)' reheader '\(twoHeader)' '\(one)' > '\(two)' && '\(samtools.path)' index '\(two)'"])
        XCTAssertEqual(reheadered.status, 0, reheadered.stderr)
        let (name, log) = try sampleColumn(two)
        XCTAssertEqual(name, "two")
        XCTAssertTrue(log.contains("2 samples (NA12878, NA12891)"), log)
    }

    /// A diploid site where half the reads carry one alternate base and half another: one record with
    /// both ALTs, GT 1/2 and AD per allele, which bcftools reads without a warning.
    func testDiploidSiteWithTwoAlternateAllelesIsOneRecord() throws {
        let samtools = try CLIRunner.tool("samtools")
        let fasta = try String(contentsOfFile: fixture("ref.fa"), encoding: .utf8)
        let chrU = Array(fasta.components(separatedBy: ">chrU\n")[1].replacingOccurrences(of: "\n", with: "").utf8)
        let site = 500                                              // 0-based; nothing else varies on chrU
        let alts = Array("ACGT".utf8).filter { $0 != chrU[site] }.prefix(2)
        var sam = "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chrT\tLN:3000\n@SQ\tSN:chrU\tLN:1000\n"
        for i in 0..<30 {
            let start = 420 + 2 * i
            var read = Array(chrU[start..<(start + 100)])
            read[site - start] = alts[alts.startIndex + i % 2]
            sam += "r\(i)\t\(i % 4 < 2 ? 0 : 16)\tchrU\t\(start + 1)\t60\t100M\t*\t0\t0\t"
                + String(decoding: read, as: UTF8.self) + "\t" + String(repeating: "I", count: 100) + "\n"
        }
        try sam.write(toFile: path("multi.sam"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try run(["view", "-b", "-o", path("multi.bam"), path("multi.sam")], executable: samtools).status, 0)
        XCTAssertEqual(try run(["index", path("multi.bam")], executable: samtools).status, 0)
        let out = path("multi.vcf")
        let r = try run(["annotate", path("multi.bam"), "-f", fixture("ref.fa"), "--ploidy", "2", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertEqual(rows.count, 1, rows.joined(separator: "\n"))
        let f = rows[0].split(separator: "\t").map(String.init)
        XCTAssertEqual(f[0...1], ["chrU", "501"])
        XCTAssertEqual(Set(f[4].split(separator: ",").map { UInt8(ascii: $0.unicodeScalars.first!) }), Set(alts))
        let format = Dictionary(uniqueKeysWithValues: zip(f[8].split(separator: ":"), f[9].split(separator: ":")))
        XCTAssertEqual(format["GT"], "1/2")
        XCTAssertEqual(format["AD"], "0,15,15")
        let view = try run(["view", out], executable: try bcftools())
        XCTAssertEqual(view.status, 0)
        XCTAssertEqual(view.stderr, "", "bcftools view warned")
    }

    func testRegionsLimitCalls() throws {
        let model = try fixtureModel()
        let r = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model, "-r", "chrT:1-1500"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(records(r.stdout).map { $0[1] }, ["1000"])
        let bed = try run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model,
                           "-R", fixture("regions.bed")])
        XCTAssertEqual(bed.status, 0, bed.stderr)
        XCTAssertEqual(records(bed.stdout).map { $0[1] }, ["1000", "2000"])
    }

    func testMissingIndexIsAnError() throws {
        let out = path("calls.vcf.gz")
        let r = try run(["annotate", fixture("noindex.bam"), "-f", fixture("ref.fa"), "-r", "chrT:1-100", "-o", out])
        XCTAssertNotEqual(r.status, 0)
        try CLIRunner.assertFailedCleanly(CLIRunner.Result(status: r.status, output: Data(), stderr: r.stderr),
                                          naming: [fixture("noindex.bam")])
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), [])
    }

    func testReferenceNotMatchingTheAlignmentsIsAnError() throws {
        let out = path("calls.vcf")
        let r = try run(["annotate", fixture("aln.bam"), "-f", fixture("wrong-length.fa"), "-o", out])
        XCTAssertNotEqual(r.status, 0)
        try CLIRunner.assertFailedCleanly(CLIRunner.Result(status: r.status, output: Data(), stderr: r.stderr),
                                          naming: ["aln.bam", "chrT"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), [])
    }

    func testTruthContigMissingFromReferenceIsAnError() throws {
        let out = path("model")
        let r = try run(["train", "--task", "variants", "--bam", fixture("aln.bam"), "--reference", fixture("ref.fa"),
                         "--truth", fixture("truth-badcontig.vcf"), "-o", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("truth-badcontig.vcf") && r.stderr.contains("chrZ"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
