import DNATasks
import Foundation
import XCTest

/// `classify --report` writes a Kraken 2 report and `--kraken-output` Kraken 2 per-read lines, agreeing with the
/// per-read table of the same run; Kraken 2 itself, MultiQC and kraken-biom read them as Kraken 2's own.
final class KrakenReportTests: XCTestCase {
    var work: URL!
    let models = CLIRunner.repository.appendingPathComponent("Fixtures/models")

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("kraken-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }
    func text(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }
    func rows(_ name: String) throws -> [[String]] { fields(try text(name)) }
    func fields(_ text: String) -> [[String]] {
        text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// The first 12 demo reads (a few species, sketch and model paths; few, as the debug build runs the model
    /// slowly) plus two the screen leaves unclassified (low complexity, too short).
    func writeReads() throws -> [(name: String, length: Int)] {
        let all = try String(contentsOf: CLIRunner.repository.appendingPathComponent("Fixtures/demo/species_reads.fa"), encoding: .utf8)
        let demo = all.split(separator: "\n").prefix(24).joined(separator: "\n") + "\n"
        let fasta = demo + ">polyA\n" + String(repeating: "A", count: 120) + "\n>short\nACGTACG\n"
        try fasta.write(toFile: path("reads.fa"), atomically: true, encoding: .utf8)
        var reads: [(String, Int)] = []
        for record in fasta.split(separator: ">") {
            let lines = record.split(separator: "\n")
            reads.append((String(lines[0].split(separator: " ")[0]), lines.dropFirst().reduce(0) { $0 + $1.count }))
        }
        return reads
    }

    /// The model directory's taxonomy.tsv: label → (taxid, lineage of (taxid, rank, name) from the root).
    func taxonomy(_ model: String) throws -> [String: (taxid: Int, lineage: [(taxid: Int, rank: String, name: String)])] {
        let lines = try String(contentsOf: models.appendingPathComponent(model + "/taxonomy.tsv"), encoding: .utf8).split(separator: "\n")
        var out: [String: (Int, [(Int, String, String)])] = [:]
        for line in lines.dropFirst() {
            let f = line.split(separator: "\t").map(String.init)
            out[f[0]] = (Int(f[1])!, f[4].split(separator: ";").map {
                let p = $0.split(separator: "|").map(String.init)
                return (Int(p[0])!, p[1], p[2])
            })
        }
        return out
    }

    /// The report's lines: percent, clade reads, direct reads, rank code, taxid, depth (leading pairs of spaces), name.
    struct Line: Equatable { var percent: String; var clade: Int; var direct: Int; var code: String; var taxid: Int; var depth: Int; var name: String }
    func report(_ name: String) throws -> [Line] {
        try rows(name).map { f in
            XCTAssertEqual(f.count, 6, f.joined(separator: "|"))
            let indent = f[5].prefix { $0 == " " }.count
            XCTAssertEqual(indent % 2, 0, f[5])
            return Line(percent: f[0], clade: Int(f[1])!, direct: Int(f[2])!, code: f[3], taxid: Int(f[4])!, depth: indent / 2,
                        name: String(f[5].dropFirst(indent)))
        }
    }

    func testReportAndPerReadLinesAgreeWithTheTable() throws {
        let reads = try writeReads()
        let r = try CLIRunner.run(["classify", path("reads.fa"), "--threads", "2", "-q", "-o", path("calls.tsv"),
                                   "--report", path("calls.kreport"), "--kraken-output", path("calls.kraken"), "--counts", path("counts.tsv")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let calls = try rows("calls.tsv").dropFirst()
        XCTAssertEqual(calls.map { $0[0] }, reads.map(\.name))
        var counts: [String: Int] = [:]
        for row in calls { counts[row[1], default: 0] += 1 }
        let unclassified = counts.removeValue(forKey: "unclassified") ?? 0
        // Two reads the screen leaves out, and whatever the calibrated confidence leaves out (all counted as unclassified).
        XCTAssertEqual(calls.filter { $0.last != "-" && $0.last != "low-confidence" }.count, 2)
        XCTAssertEqual(unclassified, calls.filter { $0.last != "-" }.count)
        let total = reads.count
        let tax = try taxonomy("species")

        // Expected clade and direct reads of every node on the lineages of classes with reads.
        var clade: [Int: Int] = [:], direct: [Int: Int] = [:], node: [Int: (rank: String, name: String, depth: Int)] = [:]
        for (label, n) in counts {
            let t = try XCTUnwrap(tax[label])
            direct[t.taxid, default: 0] += n
            for (depth, x) in t.lineage.enumerated() {
                clade[x.taxid, default: 0] += n
                node[x.taxid] = (x.rank, x.name, depth)
            }
        }
        let lines = try report("calls.kreport")
        XCTAssertEqual(lines.first, Line(percent: String(format: "%6.2f", 100 * Double(unclassified) / Double(total)),
                                         clade: unclassified, direct: unclassified, code: "U", taxid: 0, depth: 0, name: "unclassified"))
        XCTAssertEqual(lines.dropFirst().map(\.taxid).sorted(), clade.keys.sorted())
        for l in lines.dropFirst() {
            let n = try XCTUnwrap(node[l.taxid])
            XCTAssertEqual(l.clade, clade[l.taxid], l.name)
            XCTAssertEqual(l.direct, direct[l.taxid] ?? 0, l.name)
            XCTAssertEqual(l.name, n.name)
            XCTAssertEqual(l.depth, n.depth, l.name)
            XCTAssertEqual(l.percent, String(format: "%6.2f", 100 * Double(l.clade) / Double(total)), l.name)
            XCTAssertEqual(l.percent.count, 6)
            let codes = ["superkingdom": "D", "phylum": "P", "class": "C", "order": "O", "family": "F", "genus": "G", "species": "S"]
            if let code = codes[n.rank] { XCTAssertEqual(l.code, code, l.name) }
        }
        XCTAssertEqual(Array(lines[1...2].map(\.code)), ["R", "R1"])  // root, cellular organisms
        XCTAssertEqual(lines.reduce(0) { $0 + $1.direct }, total)
        // Depth first, children by clade reads, most first.
        for (i, l) in lines.enumerated().dropFirst(2) {
            XCTAssertLessThanOrEqual(l.depth, lines[i - 1].depth + 1)
            if let sibling = lines[..<i].last(where: { $0.depth <= l.depth }), sibling.depth == l.depth {
                XCTAssertGreaterThanOrEqual(sibling.clade, l.clade)
            }
        }

        // Per-read lines: one per read in input order, C/U, taxid, length, TAXID:LENGTH.
        let kraken = try rows("calls.kraken")
        XCTAssertEqual(kraken.count, reads.count)
        for (k, (row, read)) in zip(kraken, zip(calls, reads)) {
            let taxid = row[1] == "unclassified" ? 0 : try XCTUnwrap(tax[row[1]]).taxid
            XCTAssertEqual(k.count, 5)
            XCTAssertEqual(k, [taxid == 0 ? "U" : "C", read.name, "\(taxid)", "\(read.length)", "\(taxid):\(read.length)"], read.name)
        }
        // --counts: the plain table.
        let plain = try rows("counts.tsv")
        XCTAssertEqual(plain.first, ["class", "reads", "fraction"])
        for row in plain.dropFirst() { XCTAssertEqual(Int(row[1]), row[0] == "unclassified" ? unclassified : counts[row[0]] ?? 0, row[0]) }
    }

    func testModelWithoutTaxonomyReportsClassesUnderTheRoot() throws {
        let reads = try writeReads()
        let model = path("model")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: models.appendingPathComponent("species").path) where f != ClassTaxonomy.fileName {
            try FileManager.default.copyItem(atPath: models.appendingPathComponent("species/" + f).path, toPath: model + "/" + f)
        }
        let r = try CLIRunner.run(["classify", path("reads.fa"), "--model", model, "--threads", "2", "-q", "-o", path("calls.tsv"),
                                   "--report", path("calls.kreport"), "--kraken-output", path("calls.kraken")])
        XCTAssertEqual(r.status, 0, r.stderr)
        var counts: [String: Int] = [:]
        for row in try rows("calls.tsv").dropFirst() where row[1] != "unclassified" { counts[row[1], default: 0] += 1 }
        let lines = try report("calls.kreport")
        XCTAssertEqual(lines.map(\.code), ["U", "R"] + Array(repeating: "R1", count: counts.count))
        XCTAssertEqual(lines[1].clade, counts.values.reduce(0, +))
        for l in lines.dropFirst(2) {
            XCTAssertEqual([l.taxid, l.depth, l.clade, l.direct], [0, 1, counts[l.name], counts[l.name]], l.name)
        }
        XCTAssertEqual(try rows("calls.kraken").map { $0[2] }, Array(repeating: "0", count: reads.count))
    }

    func testMalformedTaxonomyIsRefused() throws {
        _ = try writeReads()
        let model = path("model")
        try FileManager.default.copyItem(atPath: models.appendingPathComponent("species").path, toPath: model)
        let tsv = model + "/" + ClassTaxonomy.fileName
        let good = try String(contentsOfFile: tsv, encoding: .utf8).split(separator: "\n").map(String.init)
        // A class without a row; a lineage that does not start at the root.
        for lines in [Array(good.dropLast()), good.map { $0.replacingOccurrences(of: "\t1|no rank|root;", with: "\t") }] {
            try (lines.joined(separator: "\n") + "\n").write(toFile: tsv, atomically: true, encoding: .utf8)
            let r = try CLIRunner.run(["classify", path("reads.fa"), "--model", model, "-q", "-o", path("calls.tsv"), "--report", path("calls.kreport")])
            XCTAssertEqual(r.status, 1)
            try CLIRunner.assertFailedCleanly(r, naming: [ClassTaxonomy.fileName], in: work, leftover: "calls")
        }
    }

    /// Kraken 2 2.1.2 on reads of small genomes filed under the species model's taxa: our report of its per-read
    /// calls is the report kraken2 writes, byte for byte but for the rank codes Debian's 2.1.2 build loses the letter
    /// of (an empty field for the root and Bacteria, `1` for cellular organisms: kraken2 builds that field from a
    /// `char*` read as a C string, DerrickWood/kraken2 issues 759, 796, 888); there ours holds the letter, as the
    /// Kraken 2 manual and later releases write it, and the rest of the field equals kraken2's.
    /// Debian's kraken2 and kraken2-build, or a skip where they are not installed.
    func kraken2Tools() throws -> (kraken2: URL, build: URL) {
        do { return (try CLIRunner.tool("kraken2"), try CLIRunner.tool("kraken2-build")) } catch {
            throw XCTSkip("kraken2 is not installed (apt-get install kraken2)")
        }
    }

    /// A Kraken 2 database on the bundled taxonomy: one random 20 kb genome per species label, filed under its taxid.
    /// - Returns: the database folder and the genomes by label.
    func kraken2Database(_ build: URL, labels: [String], taxid: (String) -> Int) throws -> (db: String, genomes: [String: String]) {
        var rng = SystemRandomNumberGenerator()
        let db = path("db")
        try FileManager.default.createDirectory(atPath: db + "/taxonomy", withIntermediateDirectories: true)
        for f in ["nodes.dmp", "names.dmp"] {
            try FileManager.default.copyItem(atPath: CLIRunner.repository.appendingPathComponent("Fixtures/taxonomy/" + f).path,
                                             toPath: db + "/taxonomy/" + f)
        }
        var library = "", genomes: [String: String] = [:]
        for (i, label) in labels.enumerated() {
            let genome = String((0..<20_000).map { _ in "ACGT".randomElement(using: &rng)! })
            genomes[label] = genome
            library += ">g\(i)|kraken:taxid|\(taxid(label))\n\(genome)\n"
        }
        try library.write(toFile: path("library.fa"), atomically: true, encoding: .utf8)
        for args in [["--db", db, "--add-to-library", path("library.fa"), "--no-masking"], ["--db", db, "--build", "--threads", "2"]] {
            let b = try CLIRunner.launch(build, args)
            XCTAssertEqual(b.status, 0, b.stderr)
        }
        return (db, genomes)
    }

    func testSameBytesAsKraken2() throws {
        let (kraken2, build) = try kraken2Tools()
        let tax = try taxonomy("species")
        let labels = tax.keys.sorted()
        var rng = SystemRandomNumberGenerator()
        func dna(_ n: Int) -> String { String((0..<n).map { _ in "ACGT".randomElement(using: &rng)! }) }
        let (db, genomes) = try kraken2Database(build, labels: labels) { tax[$0]!.taxid }
        var reads = ""
        for (i, label) in labels.enumerated() {
            let genome = genomes[label]!
            // Distinct read numbers per class (4, 7, 10, ...), and none for the last class.
            for k in 0..<(i == labels.count - 1 ? 0 : 4 + 3 * i) {
                let start = genome.index(genome.startIndex, offsetBy: 150 * k)
                reads += ">\(label)_\(k)\n\(genome[start..<genome.index(start, offsetBy: 150)])\n"
            }
        }
        for k in 0..<5 { reads += ">random_\(k)\n\(dna(150))\n" }
        try reads.write(toFile: path("reads.fa"), atomically: true, encoding: .utf8)
        let k = try CLIRunner.launch(kraken2, ["--db", db, "--threads", "2", "--report", path("kraken2.kreport"),
                                               "--output", path("kraken2.out"), path("reads.fa")])
        XCTAssertEqual(k.status, 0, k.stderr)
        let label = Dictionary(uniqueKeysWithValues: tax.map { ($0.value.taxid, $0.key) })
        var counts: [String: Int] = [:], unclassified = 0
        for row in try rows("kraken2.out") {
            if row[0] == "U" { unclassified += 1 } else { counts[try XCTUnwrap(label[Int(row[2])!]), default: 0] += 1 }
        }
        XCTAssertEqual(unclassified, 5)
        let taxonomy = try ClassTaxonomy.load(directory: models.appendingPathComponent("species").path, labels: labels)
        let ours = fields(KrakenReport.text(counts: counts, unclassified: unclassified, labels: labels, taxonomy: taxonomy))
        let theirs = try rows("kraken2.kreport")
        XCTAssertEqual(ours.count, theirs.count)
        XCTAssertGreaterThan(ours.count, 10)
        for (a, b) in zip(ours, theirs) {
            XCTAssertEqual(a[0..<3] + a[4...], b[0..<3] + b[4...])
            if a[3] != b[3] { XCTAssertEqual(String(a[3].dropFirst()), b[3], "rank code of \(a[5])") }
        }
    }

    /// `classify --paired --kraken-output` writes the per-read layout `kraken2 --paired` writes on the same FASTQ pairs:
    /// the pair's name without `/1` `/2`, the mates' lengths as `L1|L2`, and the k-mer field in two halves joined by
    /// ` |:| `. (The classes differ: Kraken 2 knows these random genomes, the bundled model does not.)
    func testPairedLinesHaveKraken2Layout() throws {
        let (kraken2, build) = try kraken2Tools()
        let tax = try taxonomy("species")
        let labels = tax.keys.sorted()
        let (db, genomes) = try kraken2Database(build, labels: labels) { tax[$0]!.taxid }
        func reverseComplement(_ s: Substring) -> String {
            String(s.reversed().map { ["A": "T", "C": "G", "G": "C", "T": "A"][$0]! })
        }
        var r1 = "", r2 = "", expected: [(name: String, lengths: String)] = []
        for (i, label) in labels.prefix(3).enumerated() {
            let g = genomes[label]!
            for k in 0..<2 {
                // Mate 1: 150 bases forward; mate 2: 120 bases of the fragment's other end, reverse-complemented.
                let a = g.index(g.startIndex, offsetBy: 1_000 * (2 * i + k)), b = g.index(a, offsetBy: 230)
                let name = "pair\(i)_\(k)"
                r1 += "@\(name)/1\n\(g[a..<g.index(a, offsetBy: 150)])\n+\n\(String(repeating: "I", count: 150))\n"
                r2 += "@\(name)/2\n\(reverseComplement(g[b..<g.index(b, offsetBy: 120)]))\n+\n\(String(repeating: "I", count: 120))\n"
                expected.append((name, "150|120"))
            }
        }
        try r1.write(toFile: path("r1.fq"), atomically: true, encoding: .utf8)
        try r2.write(toFile: path("r2.fq"), atomically: true, encoding: .utf8)
        let k = try CLIRunner.launch(kraken2, ["--db", db, "--threads", "2", "--paired", "--output", path("kraken2.out"),
                                               path("r1.fq"), path("r2.fq")])
        XCTAssertEqual(k.status, 0, k.stderr)
        let r = try CLIRunner.run(["classify", path("r1.fq"), path("r2.fq"), "--paired", "--threads", "2", "-q",
                                   "-o", path("calls.tsv"), "--kraken-output", path("ours.kraken")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let theirs = try rows("kraken2.out"), ours = try rows("ours.kraken")
        XCTAssertEqual(theirs.count, expected.count)
        XCTAssertEqual(ours.count, expected.count)
        for (i, (a, b)) in zip(ours, theirs).enumerated() {
            XCTAssertEqual(a.count, 5, a.joined(separator: "\t"))
            XCTAssertEqual(b.count, 5, b.joined(separator: "\t"))
            XCTAssertEqual(b[0], "C", "Kraken 2 knows its own genomes")
            XCTAssertEqual(a[1], expected[i].name)
            XCTAssertEqual(b[1], expected[i].name)
            XCTAssertEqual(a[3], expected[i].lengths)
            XCTAssertEqual(b[3], expected[i].lengths)
            for f in [a[4], b[4]] { XCTAssertEqual(f.components(separatedBy: " |:| ").count, 2, f) }
        }
    }

    func testMultiQCReadsTheReport() throws {
        let multiqc: URL
        do { multiqc = try CLIRunner.tool("multiqc") } catch { throw XCTSkip("multiqc is not installed (scripts/setup installs it)") }
        let reads = try writeReads()
        try FileManager.default.createDirectory(atPath: path("in"), withIntermediateDirectories: true)
        let r = try CLIRunner.run(["classify", path("reads.fa"), "--threads", "2", "-q", "-o", path("calls.tsv"),
                                   "--report", path("in/sample.kreport")])
        XCTAssertEqual(r.status, 0, r.stderr)
        var counts: [String: Int] = [:]
        for row in try rows("calls.tsv").dropFirst() { counts[row[1], default: 0] += 1 }
        let m = try CLIRunner.launch(multiqc, ["-q", "-f", "-o", path("out"), path("in")])
        XCTAssertEqual(m.status, 0, m.stderr)
        let sources = try rows("out/multiqc_data/multiqc_sources.txt")
        XCTAssertTrue(sources.contains { $0.first == "Kraken" && $0.last == path("in/sample.kreport") }, "\(sources)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("out/multiqc_data/multiqc_data.json"))) as! [String: Any]
        // The top-five bar plot's first data set is species: MultiQC's counts per species name.
        let plot = try XCTUnwrap((json["report_plot_data"] as? [String: Any])?["kraken-topfive-plot"] as? [String: Any])
        let species = try XCTUnwrap((plot["datasets"] as? [[[String: Any]]])?.first)
        var parsed: [String: Int] = [:]
        for s in species { parsed[s["name"] as! String] = Int(((s["data"] as! [Double]).first!).rounded()) }
        // The five species with most reads by name, the rest as Other (left out when 0), and the unclassified reads.
        let tax = try taxonomy("species")
        var expected: [String: Int] = [:]
        for (label, n) in counts where label != "unclassified" { expected[tax[label]!.lineage.last!.name] = n }
        XCTAssertEqual(parsed.removeValue(forKey: "Unclassified"), counts["unclassified"])
        let other = parsed.removeValue(forKey: "Other") ?? 0
        XCTAssertEqual(parsed.count, min(5, expected.count))
        for (name, n) in parsed { XCTAssertEqual(n, expected[name], name) }
        XCTAssertEqual(other, expected.values.reduce(0, +) - parsed.values.reduce(0, +))
        // General statistics: the unclassified share.
        let stats = try XCTUnwrap((json["report_general_stats_data"] as? [[String: [String: Any]]])?.first?["sample.kreport"])
        let share = try XCTUnwrap(stats.first { $0.key.hasSuffix("Unclassified") }?.value as? Double)
        XCTAssertEqual(share, 100 * Double(counts["unclassified"] ?? 0) / Double(reads.count), accuracy: 1e-9)
    }

    func testKrakenBiomConvertsTheReport() throws {
        let which = try CLIRunner.launch(URL(fileURLWithPath: "/bin/sh"), ["-c", "command -v kraken-biom"])
        let tool = which.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try XCTSkipIf(which.status != 0 || tool.isEmpty, "kraken-biom is not installed (scripts/setup installs it with pip)")
        _ = try writeReads()
        let r = try CLIRunner.run(["classify", path("reads.fa"), "--threads", "2", "-q", "-o", path("calls.tsv"), "--report", path("sample.kreport")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let b = try CLIRunner.launch(URL(fileURLWithPath: tool), [path("sample.kreport"), "--fmt", "tsv", "-o", path("table.tsv")])
        XCTAssertEqual(b.status, 0, b.stderr)
        // OTU table: species taxid → reads (kraken-biom's default OTU ranks, order to species).
        let tax = try taxonomy("species")
        var expected: [String: Double] = [:]
        for row in try rows("calls.tsv").dropFirst() where row[1] != "unclassified" { expected["\(tax[row[1]]!.taxid)", default: 0] += 1 }
        var table: [String: Double] = [:]
        for row in try rows("table.tsv") where !row[0].hasPrefix("#") { table[row[0]] = Double(row[1]) }
        XCTAssertEqual(table, expected)
    }

    /// Krona (Debian's `radiant`, KronaTools) draws the per-read lines with the model's own NCBI taxonomy dump: each
    /// species node holds as many reads as the table gives that class.
    func testKronaReadsThePerReadLines() throws {
        let importer: URL, lib: URL
        do {
            importer = try CLIRunner.tool("ktImportTaxonomy")
            let l = try CLIRunner.launch(try CLIRunner.tool("ktGetLibPath"), [])
            lib = URL(fileURLWithPath: l.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch { throw XCTSkip("KronaTools is not installed (scripts/setup installs Debian's radiant)") }
        _ = try writeReads()
        let r = try CLIRunner.run(["classify", path("reads.fa"), "--threads", "2", "-q", "-o", path("calls.tsv"),
                                   "--kraken-output", path("calls.kraken")])
        XCTAssertEqual(r.status, 0, r.stderr)
        // Krona's taxonomy.tab, built from the NCBI dump the models' taxids come from.
        let tax = work.appendingPathComponent("krona-taxonomy")
        try FileManager.default.createDirectory(at: tax, withIntermediateDirectories: true)
        for f in ["nodes.dmp", "names.dmp"] {
            try FileManager.default.copyItem(at: CLIRunner.repository.appendingPathComponent("Fixtures/taxonomy/" + f),
                                             to: tax.appendingPathComponent(f))
        }
        let x = try CLIRunner.launch(URL(fileURLWithPath: "/usr/bin/perl"),
                                     [lib.deletingLastPathComponent().appendingPathComponent("scripts/extractTaxonomy.pl").path, tax.path])
        XCTAssertEqual(x.status, 0, x.stderr)
        let k = try CLIRunner.launch(importer, ["-tax", tax.path, "-q", "2", "-t", "3", path("calls.kraken"), "-o", path("krona.html")])
        XCTAssertEqual(k.status, 0, k.stderr)
        let html = try text("krona.html")
        var expected: [String: Int] = [:]
        for row in try rows("calls.tsv").dropFirst() where row[1] != "unclassified" { expected[row[1], default: 0] += 1 }
        XCTAssertFalse(expected.isEmpty)
        let lineages = try taxonomy("species")
        for (label, n) in expected {
            let name = try XCTUnwrap(lineages[label]?.lineage.last?.name)
            // <node name="Escherichia coli"> ... <count><val>N</val></count>, before any child node.
            let pattern = "<node name=\"\(NSRegularExpression.escapedPattern(for: name))\">(?:(?!<node)[\\s\\S])*?<count><val>(\\d+)</val></count>"
            let re = try NSRegularExpression(pattern: pattern)
            let m = try XCTUnwrap(re.firstMatch(in: html, range: NSRange(html.startIndex..., in: html)), "\(name) not in krona.html")
            XCTAssertEqual(Int((html as NSString).substring(with: m.range(at: 1))), n, name)
        }
    }
}
