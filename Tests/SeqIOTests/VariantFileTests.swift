import Foundation
import SeqIO
import XCTest

/// `VariantFileWriter` / `VariantFileReader`: round trips through VCF, BGZF VCF (+ .tbi) and BCF
/// (+ .csi), `bcftools view` reading the output without warnings, and errors that name the file.
final class VariantFileTests: XCTestCase {
    let header = VariantHeader(lines: [
        .filter(id: "LowQual", description: "QUAL below 20"),
        .info(VariantFieldDeclaration(id: "DP", number: "1", type: .integer, description: "Depth")),
        .info(VariantFieldDeclaration(id: "VAF", number: "A", type: .float, description: "Allele fraction")),
        .info(VariantFieldDeclaration(id: "INDEL", number: "0", type: .flag, description: "An \"indel\"")),
        .info(VariantFieldDeclaration(id: "NOTE", number: "1", type: .string, description: "Free text")),
        .format(VariantFieldDeclaration(id: "GT", number: "1", type: .string, description: "Genotype")),
        .format(VariantFieldDeclaration(id: "GQ", number: "1", type: .integer, description: "Genotype quality")),
        .format(VariantFieldDeclaration(id: "AD", number: "R", type: .integer, description: "Allele depths")),
        .contig(Contig(name: "chr1", length: 5000)),
        .contig(Contig(name: "chr2", length: 3000)),
        .other(key: "source", value: "VariantFileTests"),
    ], samples: ["s1", "s2"])

    var records: [VariantRecord] {
        [
            VariantRecord(contig: "chr1", position: 99, id: "rs1", ref: "A", alts: ["G"], qual: 50, filters: ["PASS"],
                          info: [VariantAttribute("DP", .integers([30])), VariantAttribute("VAF", .floats([0.5])),
                                 VariantAttribute("NOTE", .string("x"))],
                          genotypes: [[0, 1], [1, 1]],
                          format: [VariantAttribute("GQ", .integers([40, 30])), VariantAttribute("AD", .integers([15, 15, 0, 30]))]),
            VariantRecord(contig: "chr1", position: 1999, ref: "ACT", alts: ["A", "ACTT"], qual: 12.5, filters: ["LowQual"],
                          info: [VariantAttribute("INDEL", .flag)], genotypes: [[1, 2], [-1, -1]]),
            VariantRecord(contig: "chr2", position: 0, ref: "C", alts: ["T"], genotypes: [[1], [0, 1]]),
        ]
    }

    /// What the reader gives back: the fixed columns and GT (INFO / other FORMAT not decoded).
    func readable(_ r: VariantRecord) -> VariantRecord {
        var r = r
        r.info = []; r.format = []
        return r
    }

    func write(_ path: String) throws {
        let writer = try VariantFileWriter(path: path, header: header)
        for r in records { try writer.write(r) }
        try writer.finish()
    }

    func testRoundTripAllKinds() throws {
        let dir = try temporaryDirectory(self)
        for (name, index) in [("calls.vcf", nil), ("calls.vcf.gz", ".tbi"), ("calls.bcf", ".csi")] as [(String, String?)] {
            let path = dir.appendingPathComponent(name).path
            try write(path)
            if let index { XCTAssertTrue(FileManager.default.fileExists(atPath: path + index), name) }
            let reader = try VariantFileReader(path: path)
            XCTAssertEqual(reader.samples, ["s1", "s2"], name)
            XCTAssertEqual(reader.contigs, [Contig(name: "chr1", length: 5000), Contig(name: "chr2", length: 3000)], name)
            var back: [VariantRecord] = []
            while let r = try reader.read() { back.append(r) }
            XCTAssertEqual(back, records.map(readable), name)
            XCTAssertEqual(reader.recordCount, 3, name)
        }
        // Nothing but the outputs and their indexes is left (no temporary files).
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(left, ["calls.bcf", "calls.bcf.csi", "calls.vcf", "calls.vcf.gz", "calls.vcf.gz.tbi"])
    }

    func testPlainVCFText() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("calls.vcf").path
        try write(path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "##fileformat=VCFv4.3")
        XCTAssertTrue(lines.contains("##INFO=<ID=INDEL,Number=0,Type=Flag,Description=\"An \\\"indel\\\"\">"), text)
        XCTAssertTrue(lines.contains("##contig=<ID=chr2,length=3000>"), text)
        XCTAssertTrue(lines.contains("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2"), text)
        let body = lines.filter { !$0.hasPrefix("#") }
        XCTAssertEqual(body, [
            "chr1\t100\trs1\tA\tG\t50\tPASS\tDP=30;VAF=0.5;NOTE=x\tGT:GQ:AD\t0/1:40:15,15\t1/1:30:0,30",
            "chr1\t2000\t.\tACT\tA,ACTT\t12.5\tLowQual\tINDEL\tGT\t1/2\t./.",
            "chr2\t1\t.\tC\tT\t.\t.\t.\tGT\t1\t0/1",
        ])
    }

    func testBcftoolsReadsOutputWithoutWarnings() throws {
        let dir = try temporaryDirectory(self)
        for name in ["calls.vcf", "calls.vcf.gz", "calls.bcf"] {
            let path = dir.appendingPathComponent(name).path
            try write(path)
            let (status, out, err) = try runTool(["bcftools", "view", "-H", path])
            XCTAssertEqual(status, 0, err)
            XCTAssertEqual(err, "", name)
            XCTAssertEqual(String(decoding: out, as: UTF8.self).split(separator: "\n").count, 3, name)
        }
        // The index serves region queries.
        for name in ["calls.vcf.gz", "calls.bcf"] {
            let (status, out, err) = try runTool(["bcftools", "view", "-H", "-r", "chr2", dir.appendingPathComponent(name).path])
            XCTAssertEqual(status, 0, err)
            XCTAssertEqual(err, "", name)
            XCTAssertTrue(String(decoding: out, as: UTF8.self).hasPrefix("chr2\t1\t"), name)
        }
    }

    func testReadsBcftoolsOutput() throws {
        let dir = try temporaryDirectory(self)
        let plain = dir.appendingPathComponent("calls.vcf").path
        try write(plain)
        let gz = dir.appendingPathComponent("bcftools.vcf.gz").path
        let (status, _, err) = try runTool(["bcftools", "view", "-Oz", "-o", gz, plain])
        XCTAssertEqual(status, 0, err)
        let reader = try VariantFileReader(path: gz)
        XCTAssertEqual(Array(reader), records.map(readable))
        XCTAssertNil(reader.error)
    }

    func testMalformedVCFIsAnErrorNamingTheFile() throws {
        let dir = try temporaryDirectory(self)
        let head = "##fileformat=VCFv4.3\n##contig=<ID=chr1,length=5000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            + "chr1\t100\t.\tA\tG\t50\tPASS\t.\n"
        for (name, bad) in [("pos.vcf", "chr1\tnotanumber\t.\tA\tG\t50\tPASS\t.\n"),
                            ("columns.vcf", "chr1\t200\t.\tA\n")] {
            let path = dir.appendingPathComponent(name).path
            try (head + bad).write(toFile: path, atomically: true, encoding: .utf8)
            let reader = try VariantFileReader(path: path)
            XCTAssertNotNil(try reader.read())
            XCTAssertThrowsError(try reader.read()) { error in
                let e = error as? SeqIOError
                XCTAssertEqual(e?.kind, .malformed)
                XCTAssertEqual(e?.file, path)
                XCTAssertTrue("\(error)".hasPrefix(path + ": malformed VCF record 2"), "\(error)")
            }
            // The same through iteration: it stops and keeps the error.
            let again = try VariantFileReader(path: path)
            XCTAssertEqual(Array(again).count, 1)
            XCTAssertEqual(again.error?.file, path)
        }
    }

    func testTruncatedBGZFIsAnError() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("calls.vcf.gz").path
        try write(path)
        let cut = dir.appendingPathComponent("cut.vcf.gz")
        try writeCorruptedCopy(of: path, to: cut, at: 0.7, length: 200)
        XCTAssertThrowsError(try { let r = try VariantFileReader(path: cut.path); while try r.read() != nil {} }()) { error in
            XCTAssertEqual((error as? SeqIOError)?.file, cut.path, "\(error)")
        }
    }

    func testOpenErrorsNameTheFile() throws {
        let dir = try temporaryDirectory(self)
        let missing = dir.appendingPathComponent("missing.vcf").path
        XCTAssertThrowsError(try VariantFileReader(path: missing)) { error in
            XCTAssertEqual((error as? SeqIOError)?.kind, .unreadable)
            XCTAssertEqual((error as? SeqIOError)?.file, missing)
        }
        XCTAssertThrowsError(try VariantFileReader(path: fixture("reads.fq"))) { error in
            XCTAssertEqual((error as? SeqIOError)?.kind, .unsupportedFormat)
            XCTAssertEqual((error as? SeqIOError)?.file, fixture("reads.fq"))
        }
        let noDir = dir.appendingPathComponent("no/such/dir/out.vcf.gz").path
        XCTAssertThrowsError(try VariantFileWriter(path: noDir, header: header)) { error in
            XCTAssertEqual((error as? SeqIOError)?.kind, .unwritable)
            XCTAssertEqual((error as? SeqIOError)?.file, noDir)
        }
    }

    func testFailedWriteLeavesNoFiles() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("calls.vcf.gz").path
        do {
            let writer = try VariantFileWriter(path: path, header: header)
            try writer.write(records[0])
            var bad = records[1]
            bad.contig = "chrZ"
            XCTAssertThrowsError(try writer.write(bad)) { error in
                XCTAssertEqual((error as? SeqIOError)?.kind, .malformed)
                XCTAssertEqual((error as? SeqIOError)?.file, path)
                XCTAssertTrue("\(error)".contains("chrZ"), "\(error)")
            }
            var undeclared = records[1]
            undeclared.filters = ["NoSuchFilter"]
            XCTAssertThrowsError(try writer.write(undeclared))
        }   // released without finish()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }
}
