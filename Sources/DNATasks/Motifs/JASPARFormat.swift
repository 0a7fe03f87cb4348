import Foundation

/// JASPAR count matrices, in either of the forms JASPAR distributes:
///
/// ```
/// >MA0139.2 CTCF            ← header: id, then the alternative name (optional)
/// A  [ 281  56   8 ... ]    ← one row per base, labelled, values in brackets
/// C  [  49 374 252 ... ]
/// G  [ ... ]
/// T  [ ... ]
/// ```
/// and the plain `.pfm` form: four rows of numbers (A, C, G, T in that order), with or without
/// a `>` header. Several motifs per file need one header each; a headerless matrix is named
/// after the file. Blank lines and `#` comments are skipped.
enum JASPARFormat {
    /// - Parameter defaultID: the id of a matrix without a header line.
    /// - Throws: `ToolError` naming the line: non-numeric or negative values, a row label
    ///   other than A/C/G/T, rows of different lengths, not exactly four rows, a column
    ///   without counts, or no matrix at all.
    static func parse(_ lines: [Substring], file: String, defaultID: String) throws -> [Motif] {
        var motifs: [Motif] = []
        var header: (id: String, alt: String, line: Int)?
        var rows: [(label: Character?, values: [Double], line: Int)] = []

        func flush(endLine: Int) throws {
            guard header != nil || !rows.isEmpty else { return }
            let id = header?.id ?? defaultID
            let where_ = header?.line ?? rows.first?.line ?? endLine
            guard rows.count == 4 else {
                throw ToolError(file: file, line: where_, "matrix '\(id)' has \(rows.count) row\(rows.count == 1 ? "" : "s"), expected 4 (A, C, G, T)")
            }
            // Labelled rows may come in any order; unlabelled ones are A, C, G, T.
            var ordered = [[Double]](repeating: [], count: 4)
            let labelled = rows.filter { $0.label != nil }.count
            guard labelled == 0 || labelled == 4 else {
                throw ToolError(file: file, line: where_, "matrix '\(id)' mixes labelled and unlabelled rows")
            }
            for (k, row) in rows.enumerated() {
                let b = row.label.map { MotifText.bases.firstIndex(of: $0)! } ?? k
                guard ordered[b].isEmpty else {
                    throw ToolError(file: file, line: row.line, "row '\(MotifText.bases[b])' appears twice in matrix '\(id)'")
                }
                ordered[b] = row.values
            }
            let width = rows[0].values.count
            guard width > 0 else { throw ToolError(file: file, line: rows[0].line, "matrix '\(id)' has no columns") }
            for (k, row) in rows.enumerated() where row.values.count != width {
                let name = row.label.map(String.init) ?? "\(k + 1)"
                throw ToolError(file: file, line: row.line,
                                 "row '\(name)' of matrix '\(id)' has \(row.values.count) values, expected \(width) (ragged matrix)")
            }
            var columns: [[Double]] = []
            for i in 0..<width {
                let column = (0..<4).map { ordered[$0][i] }
                guard column.reduce(0, +) > 0 else {
                    throw ToolError(file: file, line: where_, "column \(i + 1) of matrix '\(id)' has no counts")
                }
                columns.append(column)
            }
            motifs.append(Motif(id: id, altID: header?.alt ?? "", columns: columns))
            header = nil
            rows = []
        }

        for (index, line) in lines.enumerated() {
            let number = index + 1
            if MotifText.isBlankOrComment(line) { continue }
            let text = line.drop(while: { $0 == " " || $0 == "\t" })
            if text.hasPrefix(">") {
                try flush(endLine: number)
                let f = MotifText.fields(text.dropFirst())
                guard let id = f.first else { throw ToolError(file: file, line: number, "header without a motif id") }
                header = (String(id), f.dropFirst().joined(separator: " "), number)
                continue
            }
            if rows.count == 4 {
                if header == nil && motifs.isEmpty {
                    throw ToolError(file: file, line: number, "a fifth row; each further matrix needs its own '>' header line")
                }
                throw ToolError(file: file, line: number, "a fifth row in matrix '\(header?.id ?? defaultID)'")
            }
            if header == nil && !motifs.isEmpty {
                throw ToolError(file: file, line: number, "a matrix row outside any matrix; each matrix needs a '>' header line")
            }
            rows.append(try row(text, file: file, line: number))
        }
        try flush(endLine: lines.count)
        guard !motifs.isEmpty else { throw ToolError(file: file, "no motifs (empty file?)") }
        return motifs
    }

    /// `A [ 1 2 3 ]`, `A 1 2 3`, `[ 1 2 3 ]` or `1 2 3`.
    private static func row(_ text: Substring, file: String, line: Int) throws -> (label: Character?, values: [Double], line: Int) {
        var rest = text
        var label: Character?
        if let first = rest.first, first.isLetter {
            let token = rest.prefix(while: { $0.isLetter })
            guard token.count == 1, let b = token.uppercased().first, MotifText.bases.contains(b) else {
                throw ToolError(file: file, line: line,
                                 "row label '\(MotifText.shown(token))' is not A, C, G or T (only DNA matrices are read)")
            }
            label = b
            rest = rest.dropFirst()
        }
        var body = rest.trimmingCharacters(in: .whitespaces)[...]
        if body.hasPrefix("[") {
            guard body.hasSuffix("]") else { throw ToolError(file: file, line: line, "'[' without a closing ']'") }
            body = body.dropFirst().dropLast()
        } else if body.hasSuffix("]") {
            throw ToolError(file: file, line: line, "']' without an opening '['")
        }
        let values = try MotifText.fields(body).map { try MotifText.number($0, file: file, line: line) }
        return (label, values, line)
    }
}
