import Foundation
import SeqIO
import XCTest

/// Every SAM/BAM/CRAM file of Debian's `htslib-test` package that `samtools view` reads must
/// give the same records through `AlignmentReader`.
final class HtslibInteropTests: XCTestCase {
    static let root = "/usr/share/htslib-test"

    private func alignmentFiles() throws -> [String] {
        guard FileManager.default.fileExists(atPath: Self.root) else {
            XCTFail("""
                \(Self.root) is missing: install Debian's htslib-test package \
                (run scripts/setup --deps-only, which installs it)
                """)
            return []
        }
        let walker = FileManager.default.enumerator(atPath: Self.root)!
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            if [".sam", ".bam", ".cram", ".sam.gz"].contains(where: { relative.hasSuffix($0) }) {
                files.append(Self.root + "/" + relative)
            }
        }
        return files.sorted()
    }

    func testRecordsMatchSamtoolsView() throws {
        let files = try alignmentFiles()
        if files.isEmpty { return }
        // CRAM references are found through the files' UR tags, relative to the working
        // directory; both tools run from the file's directory, and neither may go to the
        // network for an M5 lookup.
        setenv("REF_PATH", "/nonexistent-ref-path", 1)
        let originalDirectory = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(originalDirectory) }
        HTSLibLogLevel.off.apply()
        defer { HTSLibLogLevel.warning.apply() }

        var compared = 0, withReference = 0, skipped: [String] = []
        for file in files {
            let directory = (file as NSString).deletingLastPathComponent
            var (status, out, _) = try runTool(["samtools", "view", "--no-PG", file], directory: directory,
                                                environment: ["REF_PATH": "/nonexistent-ref-path"])
            // CRAMs without a usable UR tag: try the FASTA files next to them, for both tools.
            var reference: String?
            if status != 0 && file.hasSuffix(".cram") {
                let candidates = (try? FileManager.default.contentsOfDirectory(atPath: directory))?
                    .filter { $0.hasSuffix(".fa") && FileManager.default.fileExists(atPath: directory + "/" + $0 + ".fai") }
                    .sorted() ?? []
                for fasta in candidates {
                    (status, out, _) = try runTool(["samtools", "view", "--no-PG", "--reference", directory + "/" + fasta, file],
                                                   directory: directory, environment: ["REF_PATH": "/nonexistent-ref-path"])
                    if status == 0 { reference = directory + "/" + fasta; break }
                }
            }
            if status != 0 {
                skipped.append((file as NSString).lastPathComponent)
                continue
            }
            if reference != nil { withReference += 1 }
            let expected = String(decoding: out, as: UTF8.self).split(separator: "\n").map {
                $0.split(separator: "\t", omittingEmptySubsequences: false)
            }
            FileManager.default.changeCurrentDirectoryPath(directory)
            do {
                let reader = try AlignmentReader(path: file, reference: reference)
                var i = 0
                while let r = try reader.next() {
                    if i < expected.count {
                        let cols = expected[i]
                        XCTAssertEqual(r.name, String(cols[0]), "\(file) record \(i + 1)")
                        XCTAssertEqual(String(r.flags.rawValue), String(cols[1]), "\(file) record \(i + 1)")
                        let seq = r.sequence.isEmpty ? "*" : String(decoding: r.sequence, as: UTF8.self)
                        XCTAssertEqual(seq, String(cols[9]), "\(file) record \(i + 1)")
                    }
                    i += 1
                }
                XCTAssertEqual(i, expected.count, "\(file): record count")
                compared += 1
            } catch {
                XCTFail("\(file): samtools reads it, AlignmentReader fails: \(error)")
            }
        }
        XCTAssertGreaterThan(compared, 50, "compared \(compared), skipped \(skipped)")
        print("htslib-test: compared \(compared) files (\(withReference) CRAMs given a FASTA from their folder); skipped (samtools fails too): \(skipped.joined(separator: " "))")
    }
}
