import FileOutput
import Foundation
import XCTest

/// The output rules: a regular file is replaced atomically and never half-written; a symlink keeps pointing
/// where it did; devices and FIFOs are written through; directories, inputs and other file types are refused.
final class OutputPathTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("output-path-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    func entries() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }
    func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    func testRegularFileIsReplacedOnlyAtCommit() throws {
        try "old\n".write(toFile: path("out.tsv"), atomically: false, encoding: .utf8)
        let out = try OutputFile(path("out.tsv"))
        try out.write("new\n")
        try out.flush()
        XCTAssertEqual(try read("out.tsv"), "old\n")
        XCTAssertEqual(try entries().count, 2)  // the file and its hidden temporary sibling
        try out.commit()
        XCTAssertEqual(try read("out.tsv"), "new\n")
        XCTAssertEqual(try entries(), ["out.tsv"])
    }

    func testAbandonLeavesTheOldFileAndNoTemporary() throws {
        try "old\n".write(toFile: path("out.tsv"), atomically: false, encoding: .utf8)
        let out = try OutputFile(path("out.tsv"))
        try out.write("partial")
        out.abandon()
        XCTAssertEqual(try read("out.tsv"), "old\n")
        XCTAssertEqual(try entries(), ["out.tsv"])
        let fresh = try OutputFile(path("new.tsv"))
        fresh.abandon()
        XCTAssertEqual(try entries(), ["out.tsv"])
    }

    func testSymlinkKeepsPointingAtItsTarget() throws {
        try "old\n".write(toFile: path("target.tsv"), atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: path("link.tsv"), withDestinationPath: "target.tsv")
        let out = try OutputFile(path("link.tsv"))
        try out.write("new\n")
        try out.commit()
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: path("link.tsv")), "target.tsv")
        XCTAssertEqual(try read("target.tsv"), "new\n")
        XCTAssertEqual(try entries(), ["link.tsv", "target.tsv"])
    }

    func testDanglingSymlinkCreatesItsTarget() throws {
        try FileManager.default.createSymbolicLink(atPath: path("link.tsv"), withDestinationPath: "made.tsv")
        let out = try OutputFile(path("link.tsv"))
        try out.write("x\n")
        try out.commit()
        XCTAssertEqual(try read("made.tsv"), "x\n")
    }

    func testDevNullIsWrittenThroughAndStaysADevice() throws {
        let out = try OutputFile("/dev/null")
        XCTAssertTrue(out.output.isDirect)
        try out.write("discarded\n")
        try out.commit()
        var st = stat()
        XCTAssertEqual(stat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR)
    }

    func testFifoReaderSeesTheData() throws {
        let fifo = path("pipe")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let got = Data.Locked()
        let reader = Thread { got.set(FileHandle(forReadingAtPath: fifo)?.readDataToEndOfFile() ?? Data()) }
        reader.start()
        let out = try OutputFile(fifo)
        XCTAssertTrue(out.output.isDirect)
        try out.write("through the pipe\n")
        try out.commit()
        let deadline = Date().addingTimeInterval(10)
        while got.value == nil && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(got.value.map { String(decoding: $0, as: UTF8.self) }, "through the pipe\n")
        var st = stat()
        XCTAssertEqual(lstat(fifo, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)
    }

    func testRefusals() throws {
        try FileManager.default.createDirectory(atPath: path("adir"), withIntermediateDirectories: false)
        XCTAssertThrowsError(try OutputFile(path("adir")))
        try "reads\n".write(toFile: path("in.fa"), atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try OutputFile(path("in.fa"), inputs: [path("in.fa")]))
        try FileManager.default.createSymbolicLink(atPath: path("alias.fa"), withDestinationPath: "in.fa")
        XCTAssertThrowsError(try OutputFile(path("alias.fa"), inputs: [path("in.fa")]))
        XCTAssertThrowsError(try OutputPath(path("in.fa"), kind: .directory))
        XCTAssertThrowsError(try OutputFile(path("missing/out.tsv")))
        XCTAssertThrowsError(try OutputPath(path("missing/model"), kind: .directory))
        XCTAssertEqual(try read("in.fa"), "reads\n")
        XCTAssertEqual(try entries(), ["adir", "alias.fa", "in.fa"])
    }

    func testDirectoryOutputIsSwappedIn() throws {
        try FileManager.default.createDirectory(atPath: path("model"), withIntermediateDirectories: false)
        try "old".write(toFile: path("model/config.json"), atomically: false, encoding: .utf8)
        let out = try OutputPath(path("model"), kind: .directory)
        try FileManager.default.createDirectory(atPath: out.writePath, withIntermediateDirectories: false)
        try "new".write(toFile: out.writePath + "/config.json", atomically: false, encoding: .utf8)
        XCTAssertEqual(try read("model/config.json"), "old")
        try out.commit()
        XCTAssertEqual(try read("model/config.json"), "new")
        XCTAssertEqual(try entries(), ["model"])
    }

    /// The cleanup handlers exist only while a temporary does: afterwards SIGHUP has the disposition it had.
    func testSignalDispositionIsRestoredAfterCommit() throws {
        func disposition() -> Int {
            let old = signal(SIGHUP, SIG_IGN)
            signal(SIGHUP, old)
            return unsafeBitCast(old, to: Int.self)
        }
        let handler: @convention(c) (Int32) -> Void = { _ in }
        let before = signal(SIGHUP, handler)
        defer { signal(SIGHUP, before) }
        let mine = disposition()
        let out = try OutputFile(path("out.tsv"))
        XCTAssertNotEqual(disposition(), mine)
        try out.commit()
        XCTAssertEqual(disposition(), mine)
    }

    func testCompanionIsPublishedWithTheOutput() throws {
        let out = try OutputPath(path("calls.vcf.gz"))
        try "v".write(toFile: out.writePath, atomically: false, encoding: .utf8)
        try "i".write(toFile: out.companion(suffix: ".tbi"), atomically: false, encoding: .utf8)
        try out.commit()
        XCTAssertEqual(try entries(), ["calls.vcf.gz", "calls.vcf.gz.tbi"])
    }
}

extension Data {
    /// A value one thread sets and another reads.
    final class Locked: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: Data?
        var value: Data? { lock.lock(); defer { lock.unlock() }; return stored }
        func set(_ d: Data) { lock.lock(); stored = d; lock.unlock() }
    }
}
