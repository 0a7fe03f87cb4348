import Foundation

/// Text formats for motif hits.
///
/// - BED6+ (0-based half-open): `chrom start end motif_id score strand p-value q-value matched_sequence`,
///   where `score` is the log-odds score in bits (not UCSC's 0–1000 integer), no header line.
/// - FIMO-style TSV (1-based inclusive `start`/`stop`, as FIMO writes them), with the header
///   `#motif_id motif_alt_id sequence_name start stop strand score p-value q-value matched_sequence`.
public enum MotifOutput {
    public static let tsvHeader = "#motif_id\tmotif_alt_id\tsequence_name\tstart\tstop\tstrand\tscore\tp-value\tq-value\tmatched_sequence"

    /// One BED line (with its newline).
    public static func bedLine(_ h: MotifHit, motif: Motif, sequenceName: String) -> String {
        "\(sequenceName)\t\(h.start)\t\(h.end)\t\(motif.id)\t\(format(score: h.score))\t\(h.reverse ? "-" : "+")\t"
            + "\(format(probability: h.pValue))\t\(format(probability: h.qValue))\t\(h.matched)\n"
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

/// Output files written under temporary names next to their destinations and renamed into
/// place together by `commit`; `abandon` (or an error in `commit`) removes them, so a failed
/// run leaves no partial file. A `nil` path means stdout, written straight through.
final class MotifOutputFiles {
    private struct Target {
        let path: String?
        let tmp: String?
        let handle: FileHandle
    }
    private var targets: [Target] = []

    /// Opens one output; returns its index for `write`.
    /// - Throws: `MotifError` when the temporary file cannot be created.
    func open(_ path: String?) throws -> Int {
        guard let path, path != "-" else {
            targets.append(Target(path: nil, tmp: nil, handle: .standardOutput))
            return targets.count - 1
        }
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        guard FileManager.default.createFile(atPath: tmp, contents: nil), let h = FileHandle(forWritingAtPath: tmp) else {
            throw MotifError(file: path, "cannot create the output file: \(String(cString: strerror(errno)))")
        }
        targets.append(Target(path: path, tmp: tmp, handle: h))
        return targets.count - 1
    }

    func write(_ index: Int, _ text: String) throws {
        do {
            try targets[index].handle.write(contentsOf: Data(text.utf8))
        } catch {
            throw MotifError(file: targets[index].path ?? "stdout", "write failed: \(error.localizedDescription)")
        }
    }

    func commit() throws {
        for t in targets where t.tmp != nil { try t.handle.close() }
        for t in targets {
            guard let path = t.path, let tmp = t.tmp else { continue }
            guard rename(tmp, path) == 0 else {
                let why = String(cString: strerror(errno))
                abandon()
                throw MotifError(file: path, "cannot move the output into place: \(why)")
            }
        }
        targets.removeAll()
    }

    func abandon() {
        for t in targets {
            guard let tmp = t.tmp else { continue }
            try? t.handle.close()
            unlink(tmp)
        }
        targets.removeAll()
    }
}
