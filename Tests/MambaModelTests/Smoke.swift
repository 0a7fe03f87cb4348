import XCTest
final class MambaModelTestsSmoke: XCTestCase { func testBuilds() {} }
