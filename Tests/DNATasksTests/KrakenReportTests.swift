@testable import DNATasks
import Foundation
import XCTest

/// `KrakenReport.text` follows Kraken 2's report rules (clades, rank codes of unranked nodes, order of siblings), and
/// `ClassTaxonomy` refuses a taxonomy.tsv it cannot trust.
final class KrakenReportTests: XCTestCase {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/models")

    func load(_ model: String) throws -> (ClassTaxonomy, [String]) {
        let dir = Self.models.appendingPathComponent(model).path
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        let labels = config["labels"] as! [String]
        return (try XCTUnwrap(ClassTaxonomy.load(directory: dir, labels: labels)), labels)
    }

    func fields(_ text: String) -> [[String]] {
        text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Every unranked node takes the code of its nearest ranked ancestor and its distance from it, as Kraken 2 does.
    func testRankCodesOfUnrankedNodes() throws {
        let (tax, labels) = try load("16s")
        let counts = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0 + 1) })
        let rows = fields(KrakenReport.text(counts: counts, unclassified: 0, labels: labels, taxonomy: tax))
        XCTAssertEqual(rows.count, tax.nodes.count)  // every node has reads; no unclassified line
        for row in rows {
            let node = try XCTUnwrap(tax.nodes[Int(row[4])!])
            var ranked = node, distance = 0
            while KrakenReport.rankCode[ranked.rank] == nil && ranked.taxid != 1 {
                ranked = tax.nodes[ranked.parent]!; distance += 1
            }
            let code = ranked.taxid == 1 && KrakenReport.rankCode[ranked.rank] == nil ? "R" : String(KrakenReport.rankCode[ranked.rank]!)
            XCTAssertEqual(row[3], distance == 0 ? code : "\(code)\(distance)", node.name)
        }
        // The 16S lineages hold two unranked nodes below ranked ones (cellular organisms; a subphylum).
        XCTAssertTrue(rows.contains { $0[3] == "R1" })
        XCTAssertTrue(rows.contains { $0[3] == "P1" })
    }

    /// Siblings by clade reads, most first; equal clades by taxid; a node without reads is left out.
    func testSiblingOrder() throws {
        let (tax, labels) = try load("species")
        let species = labels.map { tax.taxid[$0]! }
        // Two classes with the same reads, one with more, the rest with none.
        let ordered = labels.sorted { tax.taxid[$0]! < tax.taxid[$1]! }
        let counts = [ordered[0]: 3, ordered[1]: 3, ordered[2]: 5]
        let rows = fields(KrakenReport.text(counts: counts, unclassified: 1, labels: labels, taxonomy: tax))
        let leaves = rows.filter { species.contains(Int($0[4])!) }
        XCTAssertEqual(leaves.map { Int($0[4])! }.count, 3)
        XCTAssertEqual(rows.map { Int($0[2])! }.reduce(0, +), 12)
        XCTAssertEqual(rows[0], ["  8.33", "1", "1", "U", "0", "unclassified"])
        // Within each parent, clade reads descend and ties go by taxid.
        var last: [Int: (clade: Int, taxid: Int)] = [:]  // by depth
        for row in rows.dropFirst() {
            let depth = row[5].prefix { $0 == " " }.count / 2, clade = Int(row[1])!, taxid = Int(row[4])!
            if let prev = last[depth] { XCTAssertTrue(prev.clade > clade || (prev.clade == clade && prev.taxid < taxid), row[5]) }
            last[depth] = (clade, taxid)
            last = last.filter { $0.key <= depth }
        }
    }

    func testNoReadsAndAllUnclassified() throws {
        let (tax, labels) = try load("species")
        XCTAssertEqual(KrakenReport.text(counts: [:], unclassified: 0, labels: labels, taxonomy: tax), "")
        XCTAssertEqual(KrakenReport.text(counts: [:], unclassified: 4, labels: labels, taxonomy: tax), "100.00\t4\t4\tU\t0\tunclassified\n")
    }

    func testTaxonomyErrors() throws {
        let (tax, labels) = try load("species")
        let lines = tax.text.split(separator: "\n").map(String.init)
        func refused(_ text: String, _ labels: [String]) {
            XCTAssertThrowsError(try ClassTaxonomy(text: text, labels: labels)) { XCTAssertTrue($0 is ToolError, "\($0)") }
        }
        refused(lines.dropLast().joined(separator: "\n"), labels)                       // a class without a row
        refused(lines.dropFirst().joined(separator: "\n"), labels)                      // no header
        refused(([lines[0], lines[1], lines[1]]).joined(separator: "\n"), [])           // a label twice
        // Taxid 2 named two ways.
        refused([lines[0], lines[1], lines[2].replacingOccurrences(of: "|superkingdom|Bacteria", with: "|superkingdom|Archaea")]
                    .joined(separator: "\n"), [])
        // A lineage ending elsewhere than at the row's taxid.
        let f = lines[1].split(separator: "\t").map(String.init)
        refused([lines[0], ([f[0], "2"] + f[2...]).joined(separator: "\t")].joined(separator: "\n"), [])
        XCTAssertNoThrow(try ClassTaxonomy(text: lines.prefix(2).joined(separator: "\n"), labels: [f[0]]))
    }
}
