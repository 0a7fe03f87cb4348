import Foundation

/// MEME minimal motif format (what `meme`, `jaspar2meme` and the MEME suite databases write):
///
/// ```
/// MEME version 5
/// ALPHABET= ACGT
/// strands: + -
/// Background letter frequencies
/// A 0.29 C 0.21 G 0.21 T 0.29
/// MOTIF MA0139.2 CTCF
/// letter-probability matrix: alength= 4 w= 19 nsites= 938 E= 0
///  0.09 0.32 0.08 0.51
///  ...
/// URL http://...
/// ```
/// Only DNA (`alength= 4`, letters A C G T) is read. The background line is optional and is
/// returned, not applied. Rows are normalised to sum to 1 (they must already be within 0.02
/// of 1), then multiplied by `nsites` (20 when absent, as MEME assumes) to give counts.
enum MEMEFormat {
    struct Parsed {
        var motifs: [Motif]
        /// The `Background letter frequencies` of the file (A, C, G, T), when it has one.
        var background: [Double]?
    }

    /// - Throws: `ToolError` naming the line: an alphabet other than ACGT, a matrix row without
    ///   exactly four numbers, non-numeric values, fewer or more rows than `w=`, a row not summing
    ///   to 1, a `MOTIF` without a matrix, or no motifs at all.
    static func parse(_ lines: [Substring], file: String) throws -> Parsed {
        var motifs: [Motif] = []
        var background: [Double]?
        var pending: (id: String, alt: String, line: Int)?
        var i = 0

        func fail(_ line: Int, _ problem: String) -> ToolError { ToolError(file: file, line: line, problem) }

        while i < lines.count {
            let number = i + 1
            let text = lines[i].trimmingCharacters(in: .whitespaces)[...]
            i += 1
            if text.isEmpty || text.hasPrefix("#") { continue }
            if text.hasPrefix("ALPHABET=") {
                let letters = text.dropFirst("ALPHABET=".count).trimmingCharacters(in: .whitespaces).uppercased()
                guard letters == "ACGT" else { throw fail(number, "alphabet '\(letters)' is not DNA (ACGT)") }
            } else if text.hasPrefix("ALPHABET") {
                // A custom alphabet block; only a DNA one describes what is scanned here.
                guard text.uppercased().contains("DNA") else { throw fail(number, "alphabet is not DNA (ACGT)") }
                while i < lines.count && !lines[i].trimmingCharacters(in: .whitespaces).hasPrefix("END ALPHABET") { i += 1 }
                i += 1
            } else if text.hasPrefix("Background letter frequencies") {
                // The frequencies follow on the next non-blank line(s) as letter/value pairs.
                var pairs: [Substring] = []
                while i < lines.count, pairs.count < 8 {
                    let f = MotifText.fields(lines[i])
                    i += 1
                    if f.isEmpty { if pairs.isEmpty { continue } else { break } }
                    pairs += f
                }
                guard pairs.count == 8 else { throw fail(number, "background frequencies: expected 'A p C p G p T p'") }
                var bg = [Double](repeating: -1, count: 4)
                for k in stride(from: 0, to: 8, by: 2) {
                    guard pairs[k].count == 1, let b = MotifText.bases.firstIndex(of: Character(pairs[k].uppercased())) else {
                        throw fail(number, "background letter '\(MotifText.shown(pairs[k]))' is not A, C, G or T")
                    }
                    bg[b] = try MotifText.number(pairs[k + 1], file: file, line: number)
                }
                guard !bg.contains(-1) else { throw fail(number, "background frequencies must name A, C, G and T once each") }
                background = bg
            } else if text.hasPrefix("MOTIF") {
                if let p = pending { throw fail(p.line, "MOTIF '\(p.id)' has no letter-probability matrix") }
                let f = MotifText.fields(text)
                guard f.count >= 2 else { throw fail(number, "MOTIF without an id") }
                pending = (String(f[1]), f.dropFirst(2).joined(separator: " "), number)
            } else if text.hasPrefix("letter-probability matrix") {
                guard let p = pending else { throw fail(number, "letter-probability matrix outside a MOTIF") }
                let keys = try keyValues(text.drop(while: { $0 != ":" }).dropFirst(), file: file, line: number)
                if let a = keys["alength"], a != 4 { throw fail(number, "alength= \(shown(a)): only DNA (alength= 4) is read") }
                let width = keys["w"].map { Int($0) }   // a whole number in 1...maxWidth (keyValues)
                let sites = keys["nsites"] ?? 20
                guard sites > 0 else { throw fail(number, "nsites= must be positive") }
                var columns: [[Double]] = []
                while i < lines.count {
                    let rowText = lines[i]
                    let f = MotifText.fields(rowText)
                    if f.isEmpty { if columns.isEmpty { i += 1; continue } else { break } }
                    // A row starts with a number; anything else (URL, MOTIF, ...) ends the matrix.
                    guard let c = f[0].first, c.isNumber || c == "." || c == "-" || c == "+" else { break }
                    if let width, columns.count == width { break }
                    let rowNumber = i + 1
                    i += 1
                    let values = try f.map { try MotifText.number($0, file: file, line: rowNumber) }
                    guard values.count == 4 else {
                        throw fail(rowNumber, "matrix row has \(values.count) values, expected 4 (A, C, G, T)")
                    }
                    let sum = values.reduce(0, +)
                    guard abs(sum - 1) <= 0.02 else {
                        throw fail(rowNumber, "matrix row sums to \(sum), not 1 (probabilities expected)")
                    }
                    columns.append(values.map { $0 / sum * sites })
                }
                if let width, columns.count == width, i < lines.count,
                   let c = MotifText.fields(lines[i]).first?.first, c.isNumber || c == "." {
                    throw fail(i + 1, "MOTIF '\(p.id)': more matrix rows than w= \(width)")
                }
                if let width, columns.count != width {
                    throw fail(number, "MOTIF '\(p.id)': w= \(width) but \(columns.count) matrix rows")
                }
                guard !columns.isEmpty else { throw fail(number, "MOTIF '\(p.id)': empty matrix") }
                motifs.append(Motif(id: p.id, altID: p.alt, columns: columns))
                pending = nil
            }
            // Other lines (MEME version, strands:, URL, log-odds matrices, ...) carry nothing needed here.
        }
        if let p = pending { throw fail(p.line, "MOTIF '\(p.id)' has no letter-probability matrix") }
        guard !motifs.isEmpty else { throw ToolError(file: file, "no MOTIF entries") }
        return Parsed(motifs: motifs, background: background)
    }

    /// `alength= 4 w= 19 nsites= 17 E= 4.1e-009` (also `w=19`) → numeric values by key.
    private static func keyValues(_ text: Substring, file: String, line: Int) throws -> [String: Double] {
        var out: [String: Double] = [:]
        let f = MotifText.fields(text)
        var k = 0
        while k < f.count {
            guard let eq = f[k].firstIndex(of: "=") else { k += 1; continue }
            let key = String(f[k][..<eq])
            var value = f[k][f[k].index(after: eq)...]
            if value.isEmpty, k + 1 < f.count { k += 1; value = f[k] }
            k += 1
            guard let v = Double(value), v.isFinite else {
                throw ToolError(file: file, line: line, "non-numeric value '\(MotifText.shown(value))' for \(key)=")
            }
            out[key] = v
        }
        if let w = out["w"], !(w >= 1 && w <= Double(maxWidth) && w == w.rounded()) {
            throw ToolError(file: file, line: line, "w= \(shown(w)) is not a motif width (a whole number from 1 to \(maxWidth))")
        }
        return out
    }

    /// The widest motif `w=` may declare: far beyond any real motif, and small enough to count rows in an `Int`.
    static let maxWidth = 1_000_000

    /// A key's value for a message: whole numbers without a fraction, others as Swift prints them.
    private static func shown(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }
}
