import XCTest
@testable import FileOutput

/// Read names come out byte for byte: `ByteText.encode(ByteText.decode(b)) == b` for any bytes.
final class ByteTextTests: XCTestCase {
    func roundTrip(_ b: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ByteText.encode(ByteText.decode(b)), b, "\(b)", file: file, line: line)
    }

    func testValidUTF8IsUnchanged() {
        for s in ["", "read_1/1", "Ünïcödé", "日本語", "emoji 🧬", "\u{10FF7F}"] {
            XCTAssertEqual(ByteText.decode(Array(s.utf8)), s)
            roundTrip(Array(s.utf8))
        }
    }

    func testInvalidBytesAndEscapeBlockRoundTrip() {
        roundTrip([0x72, 0xFF, 0xFE, 0x69, 0x64])              // r \xff \xfe i d
        roundTrip([0xC3])                                     // truncated 2-byte sequence
        roundTrip([0xE2, 0x82])                               // truncated 3-byte sequence
        roundTrip([0xC0, 0xAF])                               // overlong "/"
        roundTrip([0xED, 0xA0, 0x80])                         // a surrogate
        roundTrip([0xF4, 0x90, 0x80, 0x80])                   // above U+10FFFF
        roundTrip(Array("\u{10FF80}\u{10FFFF}".utf8))         // valid UTF-8 inside the escape block
        roundTrip([0xF4, 0x8F, 0xBE, 0x80, 0xFF])
        XCTAssertNotEqual(ByteText.decode([0x72, 0xFF]), ByteText.decode([0x72, 0xEF, 0xBF, 0xBD]),
                          "an invalid byte is not the replacement character")
    }

    func testRandomBytesRoundTrip() {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let n = Int.random(in: 0...24, using: &g)
            // Mostly high bytes, so that multi-byte sequences, valid and not, are common.
            let b = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) | (Bool.random(using: &g) ? 0x80 : 0) }
            roundTrip(b)
        }
    }
}
