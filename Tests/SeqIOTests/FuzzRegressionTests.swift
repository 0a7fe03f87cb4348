import Foundation
import SeqIO
import TestSupport
import XCTest

/// Inputs that crashed the fuzz harnesses (`Fixtures/fuzz/crashers/HARNESS/`, see Fuzz/README.md), read through the
/// calls the harness makes: each must end in an error that names the file, never in a crash. Every file in the
/// folders is checked, so a new crasher needs no change here.
final class FuzzRegressionTests: XCTestCase {
    override func setUp() { HTSLibLogLevel.off.apply() }
    override func tearDown() { HTSLibLogLevel.warning.apply() }

    func testSequenceReaderCrashers() throws {
        for crasher in try FuzzCrashers.files("sequence-reader") {
            let path = try unpack(crasher, as: "reads.fa")
            var errors = FuzzCrashers.errors(
                { _ = try SequenceFileSummary.compute(path: path) },
                {
                    switch try InputFile.open(path: path) {
                    case .sequences(let reader): while try reader.next() != nil {}
                    case .alignments(let reader): while let r = try reader.next() { _ = r.originalOrientation }
                    }
                })
            errors += FuzzCrashers.errors({
                let reference = try ReferenceFasta(path: path, createIndex: true)
                for contig in reference.contigs.prefix(16) {
                    _ = try reference.fetch(Region(contig: contig.name, start: 0, end: min(contig.length, 1 << 16)))
                }
            })
            check(errors, name: crasher.lastPathComponent, path: path)
        }
    }

    func testAlignmentReaderCrashers() throws {
        let reference = fixture("ref.fa")
        for crasher in try FuzzCrashers.files("alignment-reader") {
            let path = try unpack(crasher, as: "aln")
            let errors = FuzzCrashers.errors(
                { _ = try AlignmentFileSummary.compute(path: path, reference: reference) },
                {
                    guard case .alignments(let reader) = try InputFile.open(path: path, reference: reference) else { return }
                    while let r = try reader.next() {
                        _ = (r.name, r.cigarString, r.originalOrientation, r.endPosition)
                        for tag in ["NM", "MD", "AS", "XS", "RG", "SA", "XA", "XF", "BC"] { _ = r.aux(tag) }
                    }
                },
                {
                    let pileup = try Pileup(reader: AlignmentReader(path: path, reference: reference), readSummaries: true)
                    var columns = 0
                    while let column = try pileup.next(), columns < 20_000 {
                        columns += 1
                        _ = column.entries.map(\.readSummary)
                    }
                })
            check(errors, name: crasher.lastPathComponent, path: path)
        }
    }

    func testRegionCrashers() throws {
        let contigs = [Contig(name: "chr1", length: 320), Contig(name: "chr2", length: 10),
                       Contig(name: "HLA-A*01:01", length: 7), Contig(name: "chr1:100", length: 4)]
        for crasher in try FuzzCrashers.files("region") {
            let data = try Data(contentsOf: crasher)
            var errors: [Error] = []
            for line in data.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(64) {
                let text = String(decoding: line, as: UTF8.self)
                errors += FuzzCrashers.errors({ _ = try Region.parse(text) }, { _ = try Region.parse(text, contigs: contigs) })
            }
            errors += FuzzCrashers.errors({ _ = try BEDReader.read(path: crasher.path) },
                                    { _ = try BEDReader.read(path: crasher.path, contigs: contigs) })
            XCTAssertFalse(errors.isEmpty, "\(crasher.lastPathComponent): read without an error")
        }
    }

    // MARK: - helpers

    /// Writes the file a harness reads from `crasher`: byte 0 is the packing (0 as is, 1 gzip, 2 BGZF), the rest
    /// the content (the harnesses' `Packing`).
    private func unpack(_ crasher: URL, as name: String) throws -> String {
        let data = try Data(contentsOf: crasher)
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent(name).path
        let content = data.dropFirst()
        switch data.first {
        case 1, 2:
            let plain = dir.appendingPathComponent("content").path
            try content.write(to: URL(fileURLWithPath: plain))
            let (status, packed, err) = try runTool(data.first == 1 ? ["gzip", "-n", "-c", plain] : ["bgzip", "-c", plain])
            XCTAssertEqual(status, 0, err)
            try packed.write(to: URL(fileURLWithPath: path))
        default:
            try content.write(to: URL(fileURLWithPath: path))
        }
        return path
    }

    /// At least one step failed, and every failure is a `SeqIOError` naming the file.
    private func check(_ errors: [Error], name: String, path: String) {
        XCTAssertFalse(errors.isEmpty, "\(name): read without an error")
        for error in errors {
            XCTAssertEqual((error as? SeqIOError)?.file, path, "\(name): \(error)")
        }
    }
}
