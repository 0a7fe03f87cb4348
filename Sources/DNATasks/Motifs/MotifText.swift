import Foundation

/// Line-by-line helpers shared by the motif file parsers.
enum MotifText {
    /// The file's lines (without line ends, `\r` removed); `-` reads stdin.
    /// - Throws: `ToolError` when the file cannot be read or is not UTF-8 text.
    static func lines(of path: String) throws -> [Substring] {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                throw ToolError(file: path, "cannot open: no such file")
            }
            if isDir.boolValue { throw ToolError(file: path, "cannot open: is a directory") }
            guard let d = FileManager.default.contents(atPath: path) else {
                throw ToolError(file: path, "cannot open: not readable")
            }
            data = d
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ToolError(file: path, "not a text file (not UTF-8)")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
    }

    /// Whitespace-separated fields.
    static func fields(_ line: Substring) -> [Substring] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" })
    }

    /// A count or probability: finite and not negative.
    static func number(_ token: Substring, file: String, line: Int) throws -> Double {
        guard let v = Double(token), v.isFinite else {
            throw ToolError(file: file, line: line, "non-numeric value '\(shown(token))'")
        }
        guard v >= 0 else { throw ToolError(file: file, line: line, "negative value \(token)") }
        return v
    }

    /// `token`, shortened for an error message.
    static func shown(_ token: Substring) -> String {
        token.count <= 20 ? String(token) : String(token.prefix(20)) + "..."
    }

    static let bases: [Character] = ["A", "C", "G", "T"]

    static func isBlankOrComment(_ line: Substring) -> Bool {
        let t = line.drop(while: { $0 == " " || $0 == "\t" })
        return t.isEmpty || t.hasPrefix("#")
    }
}
