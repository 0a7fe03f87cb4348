import Foundation
import XCTest
@testable import FileOutput

/// Foundation's file and JSON errors become one line that names the path and the reason.
final class ErrorTextTests: XCTestCase {
    private func caught(_ body: () throws -> Void) -> Error? {
        do { try body(); return nil } catch { return error }
    }

    func testFoundationFileErrorsNameThePathAndTheReason() throws {
        let missing = "/nonexistent-\(getpid())/x.tsv"
        let cases: [(Error?, String)] = [
            (caught { _ = try Data(contentsOf: URL(fileURLWithPath: missing)) }, missing),
            (caught { _ = try String(contentsOfFile: missing, encoding: .utf8) }, missing),
            (caught { try Data("x".utf8).write(to: URL(fileURLWithPath: missing)) }, missing),
            (caught { try FileManager.default.createDirectory(atPath: "/proc/\(getpid())-x", withIntermediateDirectories: true) },
             "/proc/\(getpid())-x"),
        ]
        for (error, path) in cases {
            let text = ErrorText.describe(try XCTUnwrap(error))
            XCTAssertTrue(text.hasPrefix(path + ": "), text)
            XCTAssertFalse(text.contains("Domain="), text)
            XCTAssertFalse(text.contains("\n"), text)
            XCTAssertGreaterThan(text.count, path.count + 4, text)
        }
    }

    func testJSONParseErrorsAreOneLine() throws {
        let error = try XCTUnwrap(caught { _ = try JSONSerialization.jsonObject(with: Data("{\"a\": [1,".utf8)) })
        let text = ErrorText.describe(error)
        XCTAssertFalse(text.contains("Domain="), text)
        XCTAssertFalse(text.contains("\n"), text)
        XCTAssertTrue(text.hasPrefix("not valid JSON"), text)
    }

    func testTheProjectsOwnErrorsDescribeThemselves() {
        let own = OutputError("/tmp/out.tsv", "is a directory")
        XCTAssertEqual(ErrorText.describe(own), own.description)
    }
}
