/// The one error type of the tasks: what failed, as one line naming the file (or option) at fault and, when one
/// is, the line — `motifs.jaspar:4: row 'G' has 18 columns, expected 19`, `--window: must be at least 1`.
/// The lower layers' typed errors (`SeqIOError`, `ModelError`, `OutputError`) pass through unchanged; they name
/// their file the same way.
public struct ToolError: Error, CustomStringConvertible, Equatable {
    /// The file at fault, or an option such as `--thresh`; nil when the message names what it is about itself.
    public let file: String?
    /// 1-based line number in `file`, when a particular line is at fault.
    public let line: Int?
    /// The problem, without the file name.
    public let problem: String

    public init(file: String, line: Int? = nil, _ problem: String) {
        self.file = file
        self.line = line
        self.problem = problem
    }

    /// A message that names its file or option itself.
    public init(_ message: String) {
        file = nil
        line = nil
        problem = message
    }

    public var description: String {
        guard let file else { return problem }
        if let line { return "\(file):\(line): \(problem)" }
        return "\(file): \(problem)"
    }
}
