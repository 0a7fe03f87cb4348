import XCTest
final class MambaKernelsTestsSmoke: XCTestCase { func testBuilds() {} }
