import Foundation
import XCTest
@testable import MambaModel

/// Reference fixtures: `$MAMBA_DNA_REFERENCE_FIXTURES`, else `<repo>/Fixtures/reference`.
enum Fixtures {
    static var root: URL {
        if let env = ProcessInfo.processInfo.environment["MAMBA_DNA_REFERENCE_FIXTURES"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/reference")
    }

    static func dir(_ name: String) -> String { root.appendingPathComponent(name).path }

    static func io(_ name: String) throws -> SafetensorsFile {
        try SafetensorsFile(path: root.appendingPathComponent(name).appendingPathComponent("io.safetensors").path)
    }
}

/// input_ids (batch, L) as one token array per batch row.
func batchTokens(_ io: SafetensorsFile, _ name: String = "input_ids") throws -> [[Int32]] {
    let ids = try io.integers(name)
    let shape = io.entries[name]!.shape
    return (0..<shape[0]).map { b in ids[(b * shape[1])..<((b + 1) * shape[1])].map { Int32($0) } }
}

/// Rows of a (batch, L, C) float tensor for batch row b.
func batchRows(_ io: SafetensorsFile, _ name: String, _ b: Int) throws -> [Float] {
    let t = try io.floats(name)
    let per = t.count / t.shape[0]
    return Array(t.array[(b * per)..<((b + 1) * per)])
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
    var m: Float = 0
    for i in a.indices { m = max(m, abs(a[i] - b[i])) }
    if a.contains(where: { $0.isNaN }) { return .nan }
    return m
}

func temporaryDirectory(_ tag: String) -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("mamba-model-tests-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d.path
}

/// Random A/C/G/T/N token string.
func randomDNA(_ n: Int, seed: UInt64) -> [Int32] {
    var g = SplitMix(seed)
    let alphabet: [Int32] = [7, 8, 9, 10, 11]
    return (0..<n).map { _ in alphabet[Int(g.next() % 5)] }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
