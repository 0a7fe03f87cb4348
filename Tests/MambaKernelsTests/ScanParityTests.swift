import XCTest
import MambaKernels

/// `SelectiveScan` against mamba_ssm `selective_scan_ref` outputs (Fixtures/reference/scan).
/// Fixture layouts are channel-major — u, delta, z, out (batch, d, L); B, C (batch, n, L) — and are
/// transposed here to the kernels' time-major layout. Tolerance: max abs error ≤ 1e-4.
final class ScanParityTests: XCTestCase {
    static let tolerance: Float = 1e-4

    func cases() throws -> [URL] {
        let dir = referenceFixturesRoot().appendingPathComponent("scan")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasPrefix("case") && $0.hasSuffix(".safetensors") }.sorted()
        XCTAssertFalse(names.isEmpty, "no scan fixtures in \(dir.path)")
        return names.map { dir.appendingPathComponent($0) }
    }

    func testForwardMatchesReferenceFixtures() throws { try check(fast: true) }
    func testForwardReferenceMatchesReferenceFixtures() throws { try check(fast: false) }

    func check(fast: Bool) throws {
        for url in try cases() {
            let f = try SafetensorsTestReader(url: url)
            let us = try f.shape("u")
            XCTAssertEqual(us.count, 3)
            let batch = us[0], d = us[1], L = us[2]
            let n = try f.shape("A")[1]
            let u = try f.float32("u"), delta = try f.float32("delta"), z = try f.float32("z")
            let A = try f.float32("A"), Bm = try f.float32("B"), Cm = try f.float32("C")
            let D = try f.float32("D"), bias = try f.float32("delta_bias")
            let out = try f.float32("out"), last = try f.float32("last_state")
            XCTAssertEqual(try f.shape("B"), [batch, n, L])
            XCTAssertEqual(try f.shape("last_state"), [batch, d, n])

            var maxOut: Float = 0, maxState: Float = 0
            for b in 0..<batch {
                // (d, L) → (L, d) and (n, L) → (L, n)
                func timeMajor(_ x: [Float], _ rows: Int) -> [Float] {
                    var y = [Float](repeating: 0, count: L * rows)
                    for r in 0..<rows { for t in 0..<L { y[t * rows + r] = x[(b * rows + r) * L + t] } }
                    return y
                }
                let ut = timeMajor(u, d), dt = timeMajor(delta, d), zt = timeMajor(z, d)
                let bt = timeMajor(Bm, n), ct = timeMajor(Cm, n)
                var state = [Float](repeating: 0, count: d * n)
                var y = [Float](repeating: .nan, count: L * d)
                if fast {
                    SelectiveScan.forward(u: ut, delta: dt, A: A, B: bt, C: ct, ldBC: n, D: D, z: zt, deltaBias: bias,
                                          state: &state, y: &y, length: L, d: d, n: n)
                } else {
                    SelectiveScan.forwardReference(u: ut, delta: dt, A: A, B: bt, C: ct, ldBC: n, D: D, z: zt,
                                                   deltaBias: bias, state: &state, y: &y, length: L, d: d, n: n)
                }
                for t in 0..<L { for c in 0..<d {
                    maxOut = max(maxOut, abs(y[t * d + c] - out[(b * d + c) * L + t]))
                } }
                for i in 0..<(d * n) { maxState = max(maxState, abs(state[i] - last[b * d * n + i])) }
            }
            let name = url.lastPathComponent
            print("\(fast ? "forward" : "forwardReference") \(name) (batch \(batch), d \(d), n \(n), L \(L)): "
                  + "max abs error out \(maxOut), last_state \(maxState)")
            XCTAssertLessThanOrEqual(maxOut, Self.tolerance, name)
            XCTAssertLessThanOrEqual(maxState, Self.tolerance, name)
            XCTAssertFalse(maxOut.isNaN || maxState.isNaN, name)
        }
    }
}
