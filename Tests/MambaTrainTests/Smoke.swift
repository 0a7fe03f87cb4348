import XCTest
final class MambaTrainTestsSmoke: XCTestCase { func testBuilds() {} }
