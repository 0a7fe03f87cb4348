import Foundation
import XCTest

/// `Fixtures/seqio`, found from this file's location so any build folder works.
let fixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/seqio")

func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seqio-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

/// Runs a program found on PATH; returns (status, stdout, stderr).
@discardableResult
func runTool(_ arguments: [String], directory: String? = nil, environment: [String: String] = [:]) throws -> (Int32, Data, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { _, new in new }
    process.environment = env
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes concurrently so a full stderr cannot block the child.
    final class Box: @unchecked Sendable { var data = Data() }
    let errBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errBox.data = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return (process.terminationStatus, outData, String(decoding: errBox.data, as: UTF8.self))
}

/// Writes the first `fraction` of `source`'s bytes to `destination`.
func writeTruncatedCopy(of source: String, to destination: URL, keeping fraction: Double) throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: source))
    try data.prefix(Int(Double(data.count) * fraction)).write(to: destination)
}

/// Writes `source` with a run of bytes in the middle overwritten.
func writeCorruptedCopy(of source: String, to destination: URL, at fraction: Double = 0.5, length: Int = 64) throws {
    var data = try Data(contentsOf: URL(fileURLWithPath: source))
    let start = Int(Double(data.count) * fraction)
    for i in start..<min(data.count, start + length) { data[i] = UInt8(truncatingIfNeeded: i &* 37 &+ 11) }
    try data.write(to: destination)
}
