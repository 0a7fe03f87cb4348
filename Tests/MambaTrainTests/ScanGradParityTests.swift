import Foundation
import MambaKernels
import XCTest

/// `SelectiveScanBackward` against PyTorch autograd through `selective_scan_ref` (Fixtures/reference-grad/scan_grad).
/// loss = Σ out·R, so dOut = R. Fixture layouts are (batch, d, L) / (batch, n, L); the kernels are time-major,
/// so each batch row is transposed to (L, d) / (L, n), run separately (dA, dD, dDeltaBias accumulate over the
/// batch), and the gradients are transposed back. Bounds: relative error by norm ≤ 1e-3 and max abs error ≤ 1e-4
/// of the largest reference value. Both sides are fp32 and sum dA, dD and dΔ-bias over L steps in different
/// orders, about √L·ε ≈ 2e-6 relative for these sizes; measured ≤ 8e-7.
final class ScanGradParityTests: XCTestCase {
    /// (rows, cols) row-major → (cols, rows) row-major.
    static func transpose(_ x: ArraySlice<Float>, rows: Int, cols: Int) -> [Float] {
        let base = x.startIndex
        var out = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = x[base + r * cols + c] } }
        return out
    }

    func runCase(_ file: String) throws {
        let url = GradFixtures.root.appendingPathComponent("scan_grad/\(file)")
        let st = try SafetensorsFixture(contentsOf: url)
        let (batch, d, L) = { () -> (Int, Int, Int) in let s = try! st.shape("u"); return (s[0], s[1], s[2]) }()
        let n = try st.shape("A")[1]
        let u = try st.floats("u"), delta = try st.floats("delta"), A = try st.floats("A")
        let B = try st.floats("B"), C = try st.floats("C"), D = try st.floats("D"), z = try st.floats("z")
        let bias = try st.floats("delta_bias"), R = try st.floats("R"), outRef = try st.floats("out")

        var gu = [Float](repeating: 0, count: batch * d * L), gdelta = gu, gz = gu
        var gB = [Float](repeating: 0, count: batch * n * L), gC = gB
        var gA = [Float](repeating: 0, count: d * n), gD = [Float](repeating: 0, count: d), gBias = gD
        var maxOutErr: Float = 0
        for b in 0..<batch {
            func tm(_ x: [Float], _ ch: Int) -> [Float] {      // (ch, L) slice of batch b → (L, ch)
                Self.transpose(x[(b * ch * L)..<((b + 1) * ch * L)], rows: ch, cols: L)
            }
            let ub = tm(u, d), deltab = tm(delta, d), zb = tm(z, d), Rb = tm(R, d), Bb = tm(B, n), Cb = tm(C, n)
            // Forward check.
            var y = [Float](repeating: 0, count: L * d), state = [Float](repeating: 0, count: d * n)
            SelectiveScan.forwardReference(u: ub, delta: deltab, A: A, B: Bb, C: Cb, ldBC: n, D: D, z: zb,
                                           deltaBias: bias, state: &state, y: &y, length: L, d: d, n: n)
            let outb = tm(outRef, d)
            for i in 0..<y.count { maxOutErr = max(maxOutErr, abs(y[i] - outb[i])) }

            var du = [Float](repeating: 0, count: L * d), dd = du, dz = du
            var dB = [Float](repeating: 0, count: L * n), dC = dB
            SelectiveScanBackward.backwardReference(
                u: ub, delta: deltab, A: A, B: Bb, C: Cb, ldBC: n, D: D, z: zb, deltaBias: bias, initialState: nil,
                dOut: Rb, du: &du, ddelta: &dd, dA: &gA, dB: &dB, dC: &dC, dD: &gD, dz: &dz, dDeltaBias: &gBias,
                length: L, d: d, n: n)
            func back(_ g: [Float], _ ch: Int, into dst: inout [Float]) {   // (L, ch) → (ch, L) at batch b
                let t = Self.transpose(g[...], rows: L, cols: ch)
                for i in 0..<t.count { dst[b * ch * L + i] = t[i] }
            }
            back(du, d, into: &gu); back(dd, d, into: &gdelta); back(dz, d, into: &gz)
            back(dB, n, into: &gB); back(dC, n, into: &gC)
        }
        XCTAssertLessThanOrEqual(maxOutErr, 1e-5, "\(file): out")

        let results: [(String, [Float])] = [("u", gu), ("delta", gdelta), ("A", gA), ("B", gB), ("C", gC),
                                            ("D", gD), ("z", gz), ("delta_bias", gBias)]
        for (name, g) in results {
            let ref = try st.floats("grad.\(name)")
            XCTAssertEqual(g.count, ref.count, "\(file) grad.\(name) size")
            let rel = GradFixtures.relativeError(g, ref), maxRel = GradFixtures.maxRelativeError(g, ref)
            print("scan_grad \(file) grad.\(name): ‖g − ref‖/‖ref‖ = \(String(format: "%.2e", rel)), "
                  + "max|g − ref|/max|ref| = \(String(format: "%.2e", maxRel))")
            XCTAssertLessThanOrEqual(rel, 1e-3, "\(file) grad.\(name): relative error by norm")
            XCTAssertLessThanOrEqual(maxRel, 1e-4, "\(file) grad.\(name): max abs error over max |ref|")
        }
    }

    func testCase0() throws { try runCase("case0.safetensors") }
    func testCase1() throws { try runCase("case1.safetensors") }
    func testCase2() throws { try runCase("case2.safetensors") }
}
