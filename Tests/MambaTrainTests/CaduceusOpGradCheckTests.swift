import Foundation
import MambaModel
import MambaTrain
import XCTest

/// Float64 finite-difference checks of the ops the Caduceus backward adds (RCPS embedding and LM head,
/// BiMamba's direction combine, the strand permutations). Each op's forward is written again here as a plain
/// Float64 loop; loss = Σ out·R for fixed random R; central differences (step 1e-5, exact to far below fp32
/// precision) against the fp32 backward. Tolerance: ‖g − fd‖/‖fd‖ ≤ 1e-4 (fp32 round-off is ~1e-7 here; a
/// wrong or missing term is O(1)). The fp32 forwards must equal the Float64 ones too.
final class CaduceusOpGradCheckTests: XCTestCase {
    private var rng = RandomSource(seed: 20_240_611)

    private func randoms(_ n: Int) -> [Double] { (0..<n).map { _ in Double(rng.nextNormal()) } }

    private func assertClose(_ g: [Float], _ fd: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(g.count, fd.count, what, file: file, line: line)
        let (rel, den) = relativeErrorByNorm(g, fd)
        print("grad check \(what): ‖g − fd‖/‖fd‖ = \(String(format: "%.2e", rel))")
        XCTAssertGreaterThan(den, 0, "\(what): the numerical gradient is all zero", file: file, line: line)
        XCTAssertLessThanOrEqual(rel, 1e-4, what, file: file, line: line)
    }

    private func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    func testRCPSEmbeddingGradient() {
        let V = 12, d = 5, T = 9
        let comp = DNATokenizer.complementMap.map(Int.init)
        let ids = (0..<T).map { _ in 7 + rng.nextInt(below: 5) } + [3]  // A/C/G/T/N and [MASK]
        let n = ids.count
        let table = randoms(V * d), R = randoms(n * 2 * d)
        func forward(_ E: [Double]) -> [Double] {
            var h = [Double](repeating: 0, count: n * 2 * d)
            for t in 0..<n { for c in 0..<d { h[t * 2 * d + c] = E[ids[t] * d + c]; h[t * 2 * d + d + c] = E[comp[ids[t]] * d + d - 1 - c] } }
            return h
        }
        var h = [Float](repeating: 0, count: n * 2 * d), dTable = [Float](repeating: 0, count: V * d)
        let table32 = table.map(Float.init), R32 = R.map(Float.init)
        RCPS.embed(table: table32, vocab: V, dim: d, complement: comp, ids: ids, count: n, h: &h)
        XCTAssertEqual(h.map(Double.init), forward(table32.map(Double.init)))
        RCPS.embedBackward(ids: ids, count: n, dim: d, complement: comp, dh: R32, dTable: &dTable)
        assertClose(dTable, centralDifferences(table) { dot(forward($0), R) }, "RCPS embedding")
    }

    func testRCPSHeadGradient() {
        let V = 16, d = 6, T = 7
        var comp = DNATokenizer.complementMap.map(Int.init)
        comp += Array(comp.count..<V)
        let W = randoms(V * d), x = randoms(T * 2 * d), R = randoms(T * V)
        func logits(_ W: [Double], _ x: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: T * V)
            for t in 0..<T {
                for v in 0..<V {
                    var s = 0.0
                    for c in 0..<d { s += x[t * 2 * d + c] * W[v * d + c] + x[t * 2 * d + d + c] * W[comp[v] * d + d - 1 - c] }
                    out[t * V + v] = s
                }
            }
            return out
        }
        // logits = x·Hᵀ ⇒ dH = Rᵀ·x (V, 2d); the fold of dH onto W is what RCPS.headMatrixBackward does.
        var H = [Float](repeating: 0, count: V * 2 * d)
        RCPS.headMatrix(weight: W.map(Float.init), vocab: V, dim: d, complement: comp, into: &H)
        var dH = [Float](repeating: 0, count: V * 2 * d)
        for v in 0..<V { for k in 0..<(2 * d) { dH[v * 2 * d + k] = Float((0..<T).reduce(0.0) { $0 + R[$1 * V + v] * x[$1 * 2 * d + k] }) } }
        var dW = [Float](repeating: 0, count: V * d)
        RCPS.headMatrixBackward(dH: dH, vocab: V, dim: d, complement: comp, dWeight: &dW)
        let viaH = (0..<T).flatMap { t in (0..<V).map { v in (0..<(2 * d)).reduce(0.0) { $0 + x[t * 2 * d + $1] * Double(H[v * 2 * d + $1]) } } }
        XCTAssertLessThanOrEqual(zip(viaH, logits(W.map { Double(Float($0)) }, x)).map { abs($0 - $1) }.max()!, 1e-5)
        assertClose(dW, centralDifferences(W) { dot(logits($0, x), R) }, "RCPS LM head weight")
    }

    func testBiMambaCombineGradients() {
        let T = 6, d = 4, ldo = 7
        for strategy in [CaduceusConfig.Strategy.add, .ewMultiply] {
            let f = randoms(T * d), rv = randoms(T * d), R = randoms(T * d)
            func forward(_ f: [Double], _ rv: [Double]) -> [Double] {
                (0..<(T * d)).map { i in
                    let t = i / d, c = i % d, b = rv[(T - 1 - t) * d + c]
                    return strategy == .add ? f[i] + b : f[i] * b
                }
            }
            var out = [Float](repeating: 0, count: T * ldo)
            let f32 = f.map(Float.init), rv32 = rv.map(Float.init)
            BiMambaCombine.forward(strategy, f: f32, rv: rv32, rows: T, cols: d, out: &out, ldo: ldo)
            let ref = forward(f32.map(Double.init), rv32.map(Double.init))
            for t in 0..<T { for c in 0..<d { XCTAssertEqual(Double(out[t * ldo + c]), ref[t * d + c], accuracy: 1e-6) } }
            var dOut = [Float](repeating: 0, count: T * ldo)
            for t in 0..<T { for c in 0..<d { dOut[t * ldo + c] = Float(R[t * d + c]) } }
            var dF = [Float](repeating: 0, count: T * d), dR = dF
            BiMambaCombine.backward(strategy, f: f32, rv: rv32, rows: T, cols: d, dOut: dOut, ldo: ldo, dF: &dF, dRv: &dR)
            assertClose(dF, centralDifferences(f) { dot(forward($0, rv), R) }, "BiMamba \(strategy) d/df")
            assertClose(dR, centralDifferences(rv) { dot(forward(f, $0), R) }, "BiMamba \(strategy) d/drev")
        }
    }

    /// rc, flip and swap_halves are permutations: the backward is the same permutation of the gradient.
    func testStrandPermutationGradients() {
        let T = 5, d = 3, W = 2 * d
        let x = randoms(T * W), R = randoms(T * W)
        func rc(_ x: [Double]) -> [Double] {   // rc of the second half, first half kept; then halves swapped
            var y = x
            for t in 0..<T { for c in 0..<d { y[t * W + d + c] = x[(T - 1 - t) * W + d + (d - 1 - c)] } }
            for t in 0..<T { for c in 0..<d { let a = y[t * W + c]; y[t * W + c] = y[t * W + d + c]; y[t * W + d + c] = a } }
            return y
        }
        // Library: the same composition, forward on x, and its backward (swap, then rc) on R.
        let x32 = x.map(Float.init)
        var y = x32
        x32.withUnsafeBufferPointer { src in
            y.withUnsafeMutableBufferPointer { StrandOps.reverseComplement(src.baseAddress! + d, ld: W, to: $0.baseAddress! + d, ld: W, rows: T, cols: d) }
        }
        StrandOps.swapHalves(&y, rows: T, half: d)
        XCTAssertEqual(y.map(Double.init), rc(x32.map(Double.init)))
        var g = R.map(Float.init)
        StrandOps.swapHalves(&g, rows: T, half: d)
        var back = g
        g.withUnsafeBufferPointer { src in
            back.withUnsafeMutableBufferPointer { StrandOps.reverseComplement(src.baseAddress! + d, ld: W, to: $0.baseAddress! + d, ld: W, rows: T, cols: d) }
        }
        assertClose(back, centralDifferences(x) { dot(rc($0), R) }, "rc + swap_halves")
        var flipped = [Float](repeating: 0, count: T * W), twice = flipped
        StrandOps.flipRows(x32, ld: W, to: &flipped, ld: W, rows: T, cols: W)
        StrandOps.flipRows(flipped, ld: W, to: &twice, ld: W, rows: T, cols: W)
        XCTAssertEqual(twice, x32, "flip is its own inverse")
        XCTAssertNotEqual(flipped, x32)
    }
}
