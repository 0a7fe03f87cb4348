import XCTest
final class SeqIOTestsSmoke: XCTestCase { func testBuilds() {} }
