import FileOutput
import Foundation

/// Text formats for motif hits.
///
/// - BED6+4 (0-based half-open) after a `#` line naming the columns: `chrom start end name score strand bits
///   p_value q_value matched_sequence`. Columns 1–6 mean what BED says: `name` is the motif id, `score` UCSC's
///   0–1000 integer, here min(1000, round(100 · −log10 p)) (p = 1e-4 → 400, p ≤ 1e-10 → 1000); the log-odds score
///   in bits, p and q follow.
/// - FIMO-style TSV (1-based inclusive `start`/`stop`, as FIMO writes them), with the header
///   `motif_id motif_alt_id sequence_name start stop strand score p-value q-value matched_sequence`.
public enum MotifOutput {
    public static let tsvHeader = "motif_id\tmotif_alt_id\tsequence_name\tstart\tstop\tstrand\tscore\tp-value\tq-value\tmatched_sequence"

    /// The BED file's first line: the columns' names (a `#` line, which BED readers skip).
    public static let bedHeader = "#chrom\tstart\tend\tname\tscore\tstrand\tbits\tp_value\tq_value\tmatched_sequence"

    /// One BED line (with its newline).
    public static func bedLine(_ h: MotifHit, motif: Motif, sequenceName: String) -> String {
        "\(sequenceName)\t\(h.start)\t\(h.end)\t\(motif.id)\t\(bedScore(pValue: h.pValue))\t\(h.reverse ? "-" : "+")\t"
            + "\(format(score: h.score))\t\(format(probability: h.pValue))\t\(format(probability: h.qValue))\t\(h.matched)\n"
    }

    /// BED column 5: min(1000, round(100 · −log10 p)), 0 for p ≥ 1.
    public static func bedScore(pValue p: Double) -> Int {
        guard p < 1 else { return 0 }
        guard p > 0 else { return 1000 }
        return min(1000, Int((-100 * Foundation.log10(p)).rounded()))
    }

    /// One TSV line (with its newline); `start` is `h.start + 1`, `stop` is `h.end`.
    public static func tsvLine(_ h: MotifHit, motif: Motif, sequenceName: String) -> String {
        "\(motif.id)\t\(motif.altID)\t\(sequenceName)\t\(h.start + 1)\t\(h.end)\t\(h.reverse ? "-" : "+")\t"
            + "\(format(score: h.score))\t\(format(probability: h.pValue))\t\(format(probability: h.qValue))\t\(h.matched)\n"
    }

    static func format(score: Double) -> String { String(format: "%.4f", score) }
    /// Four significant digits, like `1.234e-05`.
    static func format(probability p: Double) -> String { String(format: "%.4g", p) }
}

/// The outputs of one motif run (`OutputFile`s), published together by `commit`; `abandon` (or an error in
/// `commit`) removes what is not yet published, so a failed run leaves no partial file. A `nil` path is stdout.
final class MotifOutputFiles {
    private var files: [OutputFile] = []
    private let inputs: [String]

    init(inputs: [String]) { self.inputs = inputs }

    /// Opens one output; returns its index for `write`.
    /// - Throws: `OutputError` when the destination is refused or cannot be created.
    func open(_ path: String?) throws -> Int {
        files.append(try OutputFile(path ?? "-", inputs: inputs))
        return files.count - 1
    }

    func write(_ index: Int, _ text: String) throws { try files[index].write(text) }

    func commit() throws {
        defer { files.removeAll() }
        for (i, f) in files.enumerated() {
            do { try f.commit() } catch {
                for g in files[(i + 1)...] { g.abandon() }
                throw error
            }
        }
    }

    func abandon() {
        for f in files { f.abandon() }
        files.removeAll()
    }
}
