import Foundation

/// Reads motif files, telling MEME minimal format from JASPAR by content.
public enum MotifFile {
    /// The file's format, as detected.
    public enum Format: String, Sendable {
        case jaspar, meme
    }

    /// All motifs of `path` (`-` for stdin), in file order.
    ///
    /// A file whose first content line starts with `MEME version`, `ALPHABET` or `MOTIF` is read
    /// as MEME minimal format; anything else as JASPAR (headed or plain 4-row count matrices).
    /// - Throws: `ToolError` naming the file and, for malformed content, the line.
    public static func read(path: String) throws -> (motifs: [Motif], format: Format) {
        let lines = try MotifText.lines(of: path)
        let first = lines.first { !MotifText.isBlankOrComment($0) }?.trimmingCharacters(in: .whitespaces) ?? ""
        if first.hasPrefix("MEME version") || first.hasPrefix("ALPHABET") || first.hasPrefix("MOTIF") {
            return (try MEMEFormat.parse(lines, file: path).motifs, .meme)
        }
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return (try JASPARFormat.parse(lines, file: path, defaultID: path == "-" ? "motif" : stem), .jaspar)
    }
}
