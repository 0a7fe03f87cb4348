import DNATasks
import Foundation
import TestSupport
import XCTest

/// Motif files that crashed the fuzz harness (`Fixtures/fuzz/crashers/motifs/`, see Fuzz/README.md), read as
/// `annotate --motifs` reads them: each must end in a `ToolError` that names the file, never in a crash. Every
/// file in the folder is checked, so a new crasher needs no change here.
final class FuzzRegressionTests: XCTestCase {
    func testMotifCrashers() throws {
        let files = try FuzzCrashers.files("motifs")
        let sequence = Array("ACGTTGCCGCGGTACCCTAGAGGGCGCTATNNACGTACGATCGATCGGGCCCTTTAAAGGTACC".utf8)
        for file in files {
            let path = file.path
            var errors: [Error] = []
            do {
                let (motifs, _) = try MotifFile.read(path: path)
                let scanner = try MotifScanner(motifs: motifs, background: .uniform)
                sequence.withUnsafeBufferPointer { scanner.scan($0, sequence: 0, offset: 0, starts: $0.count) }
                _ = scanner.finish()
            } catch { errors.append(error) }
            do { _ = try Background.read(path: path) } catch { errors.append(error) }
            XCTAssertFalse(errors.isEmpty, "\(file.lastPathComponent): read without an error")
            for error in errors {
                XCTAssertEqual((error as? ToolError)?.file, path, "\(file.lastPathComponent): \(error)")
            }
        }
    }
}
