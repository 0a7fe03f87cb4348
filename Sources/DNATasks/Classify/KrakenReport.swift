import Foundation

/// The NCBI taxonomy of a classifier's classes: `taxonomy.tsv` in the model directory, one row per class label,
///
///     label  taxid  rank  name  lineage
///     E_coli  562  species  Escherichia coli  1|no rank|root;131567|no rank|cellular organisms;…;562|species|Escherichia coli
///
/// with the lineage from the root (taxid 1) down to the class's own taxon, each node `taxid|rank|name` (NCBI rank
/// names: `superkingdom`, `phylum`, …, `no rank`), joined by `;`. Every label of the model has a row; several labels
/// may share a taxon, and a label may sit on an inner node of another label's lineage.
public struct ClassTaxonomy: Sendable, Equatable {
    public static let fileName = "taxonomy.tsv"

    public struct Node: Sendable, Equatable {
        public var taxid: Int
        public var parent: Int          // taxid of the parent; 0 for the root
        public var rank: String
        public var name: String
    }

    /// Every node of the classes' lineages, by taxid.
    public private(set) var nodes: [Int: Node] = [:]
    /// The taxon of each class label.
    public private(set) var taxid: [String: Int] = [:]
    /// The file's text as read (kept in shard manifests, so that `merge` reports with the same taxonomy).
    public let text: String

    /// The model directory's taxonomy, or nil when it has no `taxonomy.tsv`.
    /// - Throws: `ToolError` naming the file and line for a malformed row, a lineage that does not start at the root
    ///   or end at the row's taxon, a node described two ways, or a label of the model without a row.
    public static func load(directory: String, labels: [String]) throws -> ClassTaxonomy? {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ToolError(file: path, "cannot read")
        }
        return try ClassTaxonomy(text: text, labels: labels, file: path)
    }

    public init(text: String, labels: [String], file: String = fileName) throws {
        self.text = text
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.first?.split(separator: "\t").first == "label" else {
            throw ToolError(file: file, line: 1, "expected the header line `label<TAB>taxid<TAB>rank<TAB>name<TAB>lineage`")
        }
        for (i, line) in lines.enumerated().dropFirst() {
            let n = i + 1
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 5 else { throw ToolError(file: file, line: n, "\(f.count) columns, expected 5") }
            guard let t = Int(f[1]), t >= 1 else { throw ToolError(file: file, line: n, "taxid '\(f[1])' is not a positive integer") }
            guard taxid[f[0]] == nil else { throw ToolError(file: file, line: n, "label \(f[0]) given twice") }
            var parent = 0
            for (k, entry) in f[4].split(separator: ";", omittingEmptySubsequences: false).enumerated() {
                let p = entry.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                guard p.count == 3, let id = Int(p[0]), id >= 1, !p[2].isEmpty else {
                    throw ToolError(file: file, line: n, "lineage entry '\(entry)' is not taxid|rank|name")
                }
                if k == 0 && id != 1 { throw ToolError(file: file, line: n, "the lineage starts at \(id), not at the root (1)") }
                let node = Node(taxid: id, parent: parent, rank: p[1], name: p[2])
                if let old = nodes[id], old != node {
                    throw ToolError(file: file, line: n, "taxid \(id) differs from an earlier row's (parent, rank or name)")
                }
                nodes[id] = node
                parent = id
            }
            guard parent == t, let own = nodes[t], own.rank == f[2], own.name == f[3] else {
                throw ToolError(file: file, line: n, "the lineage does not end at taxid \(t), rank \(f[2]), name \(f[3])")
            }
            taxid[f[0]] = t
        }
        if let missing = labels.first(where: { taxid[$0] == nil }) {
            throw ToolError(file: file, "no row for the model's class \(missing)")
        }
    }
}

/// Kraken 2 output formats for `classify`: the report (`--report`, as `kraken2 --report` writes it) and the
/// per-read lines (`--kraken-output`, as `kraken2 --output`).
public enum KrakenReport {
    /// The Kraken 2 report of a run: one line per taxon with reads in its clade, depth-first from the root, children
    /// by clade reads (most first; ties by taxid, then class order):
    /// `percent (%6.2f of all reads)  clade reads  direct reads  rank code  taxid  name indented 2 spaces per depth`;
    /// an `unclassified` line (U, taxid 0) first when some read is unclassified. Rank codes as Kraken 2 2.1.2 gives
    /// them: D K P C O F G S for the NCBI ranks superkingdom … species, R for the root, and a node of any other rank
    /// takes the code of the nearest ranked ancestor with its distance (`R1` for cellular organisms, `P1` for a
    /// subphylum). Without a taxonomy, each class is an unranked child of the root (`R1`, taxid 0, the label as name).
    public static func text(counts: [String: Int], unclassified: Int, labels: [String], taxonomy: ClassTaxonomy?) -> String {
        // The tree: node 0 is the root; the others are the lineages' nodes (or one per class without a taxonomy).
        var taxid = [1], rank = ["no rank"], name = ["root"], parent = [-1], order = [0]
        var index: [Int: Int] = [1: 0]
        var direct = [0]
        func add(_ t: Int, _ r: String, _ n: String, under p: Int) -> Int {
            taxid.append(t); rank.append(r); name.append(n); parent.append(p); order.append(taxid.count - 1); direct.append(0)
            return taxid.count - 1
        }
        for label in labels {
            let node: Int
            if let taxonomy, let t = taxonomy.taxid[label] {
                var path: [Int] = []
                var x = t
                while x != 0 { path.append(x); x = taxonomy.nodes[x]?.parent ?? 0 }
                var at = 0
                for x in path.reversed() where x != 1 {
                    if let i = index[x] { at = i; continue }
                    let n = taxonomy.nodes[x]!
                    at = add(x, n.rank, n.name, under: at)
                    index[x] = at
                }
                node = at
            } else {
                node = add(0, "no rank", label, under: 0)
            }
            direct[node] += counts[label] ?? 0
        }
        var clade = direct
        for i in stride(from: taxid.count - 1, through: 1, by: -1) { clade[parent[i]] += clade[i] }
        var children = [[Int]](repeating: [], count: taxid.count)
        for i in 1..<taxid.count { children[parent[i]].append(i) }
        let total = unclassified + direct.reduce(0, +)

        var text = ""
        func line(_ c: Int, _ d: Int, _ code: String, _ t: Int, _ n: String, depth: Int) {
            text += String(format: "%6.2f", 100 * Double(c) / Double(total)) + "\t\(c)\t\(d)\t\(code)\t\(t)\t"
                + String(repeating: "  ", count: depth) + n + "\n"
        }
        if unclassified > 0 { line(unclassified, unclassified, "U", 0, "unclassified", depth: 0) }
        func visit(_ i: Int, code: Character, rankDepth: Int, depth: Int) {
            guard clade[i] > 0 else { return }
            var code = code, rankDepth = rankDepth
            if let c = rankCode[rank[i]] { code = c; rankDepth = 0 } else { rankDepth += 1 }
            line(clade[i], direct[i], rankDepth == 0 ? String(code) : "\(code)\(rankDepth)", taxid[i], name[i], depth: depth)
            let sorted = children[i].sorted { (clade[$0], -taxid[$0], -order[$0]) > (clade[$1], -taxid[$1], -order[$1]) }
            for c in sorted { visit(c, code: code, rankDepth: rankDepth, depth: depth + 1) }
        }
        visit(0, code: "R", rankDepth: -1, depth: 0)
        return text
    }

    static let rankCode: [String: Character] = [
        "superkingdom": "D", "kingdom": "K", "phylum": "P", "class": "C", "order": "O", "family": "F", "genus": "G", "species": "S",
    ]

    /// One `kraken2 --output` line: `C` or `U`, the read's name, its taxid (0: unclassified, or a class without a
    /// taxonomy), its length, and the k-mer field, here one span of the whole read: `TAXID:LENGTH` (Kraken 2 lists
    /// `taxid:k-mers` runs along the read; a model decides for the read as a whole).
    public static func outputLine(name: String, taxid: Int?, length: Int) -> String {
        let t = taxid ?? 0
        return "\(taxid == nil ? "U" : "C")\t\(name)\t\(t)\t\(length)\t\(t):\(length)\n"
    }

    /// The line of a read (one length) or a read pair (two), as `kraken2 --paired` writes a pair's: the lengths
    /// joined by `|` (`150|148`) and one span per mate in the k-mer field, joined by ` |:| `
    /// (`562:150 |:| 562:148`).
    public static func outputLine(name: String, taxid: Int?, lengths: [Int]) -> String {
        guard lengths.count != 1 else { return outputLine(name: name, taxid: taxid, length: lengths[0]) }
        let t = taxid ?? 0
        return "\(taxid == nil ? "U" : "C")\t\(name)\t\(t)\t" + lengths.map(String.init).joined(separator: "|") + "\t"
            + lengths.map { "\(t):\($0)" }.joined(separator: " |:| ") + "\n"
    }
}
