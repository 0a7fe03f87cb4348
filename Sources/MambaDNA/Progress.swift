import Foundation

/// One progress line on stderr, rewritten in place (`\r`), while a command reads its input: records, bases and
/// the rate so far. Only when stderr is a terminal and `--quiet` is not given; at most four updates a second.
final class ProgressLine {
    private let label: String
    private let unit: String
    private let enabled: Bool
    private let start = Date()
    private var last = Date.distantPast
    private var shown = false

    init(command: String, unit: String, quiet: Bool) {
        label = "mamba-dna \(command)"
        self.unit = unit
        enabled = !quiet && isatty(STDERR_FILENO) != 0
    }

    func update(records: Int, bases: Int) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.25 else { return }
        last = now
        let seconds = max(now.timeIntervalSince(start), 1e-9)
        let text = "\(label): \(Self.grouped(records)) \(unit), \(Self.bases(bases)), "
            + "\(Self.grouped(Int(Double(records) / seconds))) \(unit)/s"
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
        shown = true
    }

    /// Clears the line, so the log lines that follow start at the left margin.
    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        shown = false
    }

    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(d)
        }
        return out
    }

    static func bases(_ n: Int) -> String {
        n >= 1_000_000 ? String(format: "%.2f Mbp", Double(n) / 1e6)
            : n >= 1_000 ? String(format: "%.1f kbp", Double(n) / 1e3) : "\(n) bp"
    }
}
