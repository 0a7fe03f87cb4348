/// A problem with motif input, options or output. `description` is one line naming the file
/// (and the line, when one is at fault), e.g. `motifs.jaspar:4: row 'G' has 18 columns, expected 19`.
public struct MotifError: Error, CustomStringConvertible, Equatable {
    /// The file at fault, or an option name such as `--thresh`.
    public let file: String
    /// 1-based line number in `file`, when a particular line is at fault.
    public let line: Int?
    /// The problem, without the file name.
    public let problem: String

    public init(file: String, line: Int? = nil, _ problem: String) {
        self.file = file
        self.line = line
        self.problem = problem
    }

    public var description: String {
        if let line { return "\(file):\(line): \(problem)" }
        return "\(file): \(problem)"
    }
}
