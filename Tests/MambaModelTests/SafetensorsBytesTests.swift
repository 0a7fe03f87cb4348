import Foundation
import XCTest
@testable import MambaModel

/// U8 tensors: written as given, read back as bytes; other dtypes are refused by `bytes`.
final class SafetensorsBytesTests: XCTestCase {
    func testU8RoundTrip() throws {
        let dir = temporaryDirectory("u8")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/b.safetensors"
        try Safetensors.write([("a", .u8(shape: [5], values: [0, 1, 127, 128, 255])), ("empty", .u8(shape: [0], values: [])),
                               ("f", .floats(shape: [1], values: [2]))], metadata: ["k": "v"], to: path)
        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(f.entries["a"]?.dtype, .U8)
        XCTAssertEqual(try f.bytes("a"), [0, 1, 127, 128, 255])
        XCTAssertEqual(try f.bytes("empty"), [])
        XCTAssertEqual(try f.integers("a"), [0, 1, 127, 128, 255])
        XCTAssertEqual(try f.floats("f").array, [2])
        XCTAssertEqual(f.metadata, ["k": "v"])
        XCTAssertThrowsError(try f.bytes("f")) { XCTAssertTrue("\($0)".contains("expected U8"), "\($0)") }
        XCTAssertThrowsError(try f.bytes("missing")) { XCTAssertEqual($0 as? ModelError, .missingTensor(path: path, name: "missing")) }
    }
}
