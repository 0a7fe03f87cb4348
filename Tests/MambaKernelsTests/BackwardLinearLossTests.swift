import Foundation
import MambaKernels
import XCTest

/// Finite-difference checks of linear, activations, embedding, cross-entropy and mean pooling
/// (method: BackwardGradCheckTests).
final class BackwardLinearLossTests: XCTestCase {
    /// Strided x, dy and dx (column slices of wider buffers), bias, and dx accumulation.
    func testLinear() {
        var rng = TestRNG(41)
        let (rows, inF, outF, ldx, lddy, lddx) = (5, 6, 3, 8, 4, 7)
        let x = rng.floats(rows * ldx), w = rng.floats(outF * inF), b = rng.floats(outF)
        let R = rng.floats(rows * lddy)
        func linear64(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {   // Σ y·R over the used columns
            var loss = 0.0
            for r in 0..<rows {
                for o in 0..<outF {
                    var y = b[o]
                    for i in 0..<inF { y += x[r * ldx + i] * w[o * inF + i] }
                    loss += y * Double(R[r * lddy + o])
                }
            }
            return loss
        }
        var y = [Float](repeating: 0, count: rows * outF)
        Gemm.linear(x: x, rows: rows, inFeatures: inF, ldx: ldx, weight: w, bias: b, outFeatures: outF, y: &y)
        // forward: the used slice of the loss equals Σ y·R
        var l32 = 0.0
        for r in 0..<rows { for o in 0..<outF { l32 += Double(y[r * outF + o]) * Double(R[r * lddy + o]) } }
        XCTAssertEqual(l32, linear64(x.f64, w.f64, b.f64), accuracy: 1e-5 * max(1, abs(l32)))

        let sentinel: Float = 7
        var dx = [Float](repeating: sentinel, count: rows * lddx)
        var dw = [Float](repeating: 0, count: outF * inF), db = [Float](repeating: 0, count: outF)
        LinearBackward.backward(x: x, rows: rows, inFeatures: inF, ldx: ldx, weight: w, outFeatures: outF,
                                dy: R, lddy: lddy, dx: &dx, lddx: lddx, dWeight: &dw, dBias: &db)
        let (x64, w64, b64) = (x.f64, w.f64, b.f64)
        let fdx = GradCheck.numericGradient(x64) { linear64($0, w64, b64) }
        var dxUsed = [Float](), fdxUsed = [Double]()
        for r in 0..<rows {
            for i in 0..<inF { dxUsed.append(dx[r * lddx + i]); fdxUsed.append(fdx[r * ldx + i]) }
            for i in inF..<lddx { XCTAssertEqual(dx[r * lddx + i], sentinel, "dx padding written") }
        }
        GradCheck.assertClose(dxUsed, fdxUsed, "linear dx")
        GradCheck.assertClose(dw, GradCheck.numericGradient(w64) { linear64(x64, $0, b64) }, "linear dW")
        GradCheck.assertClose(db, GradCheck.numericGradient(b64) { linear64(x64, w64, $0) }, "linear db")

        // accumulateInput adds onto an existing gradient.
        var dx2 = dx
        LinearBackward.backward(x: x, rows: rows, inFeatures: inF, ldx: ldx, weight: w, outFeatures: outF,
                                dy: R, lddy: lddy, dx: &dx2, lddx: lddx, accumulateInput: true, dWeight: nil)
        for r in 0..<rows {
            for i in 0..<inF { XCTAssertEqual(dx2[r * lddx + i], 2 * dx[r * lddx + i], accuracy: 1e-5) }
        }
    }

    func testSiluGateAndSoftplus() {
        var rng = TestRNG(42)
        let n = 12
        let x = rng.floats(n), g = rng.floats(n, std: 3), R = rng.floats(n)
        var dx = [Float](repeating: 0, count: n), dg = [Float](repeating: 0, count: n)
        ActivationBackward.siluGate(x: x, gate: g, dOut: R, dx: &dx, dGate: &dg, count: n)
        let R64 = R.f64
        func gate64(_ x: [Double], _ g: [Double]) -> Double {
            var s = 0.0
            for i in 0..<n { s += x[i] * g[i] / (1 + Foundation.exp(-g[i])) * R64[i] }
            return s
        }
        let (x64, g64) = (x.f64, g.f64)
        GradCheck.assertClose(dx, GradCheck.numericGradient(x64) { gate64($0, g64) }, "silu gate dx")
        GradCheck.assertClose(dg, GradCheck.numericGradient(g64) { gate64(x64, $0) }, "silu gate dg")

        // plain SiLU
        var ds = [Float](repeating: 0, count: n)
        ActivationBackward.silu(x: g, dy: R, dx: &ds, count: n)
        GradCheck.assertClose(ds, GradCheck.numericGradient(g64) { v in
            (0..<n).reduce(0.0) { $0 + v[$1] / (1 + Foundation.exp(-v[$1])) * R64[$1] }
        }, "silu dx")

        // softplus, including values above PyTorch's threshold 20 (identity there)
        var sp = rng.floats(n, std: 4)
        sp[3] = 25; sp[7] = -30
        var dsp = [Float](repeating: 0, count: n)
        ActivationBackward.softplus(x: sp, dy: R, dx: &dsp, count: n)
        for i in 0..<n {
            let v = Double(sp[i])
            XCTAssertEqual(Double(Activation.softplus(sp[i])), v > 20 ? v : Foundation.log1p(Foundation.exp(v)),
                           accuracy: 1e-6 * max(1, abs(v)))
        }
        GradCheck.assertClose(dsp, GradCheck.numericGradient(sp.f64) { v in
            (0..<n).reduce(0.0) { acc, i in acc + (v[i] > 20 ? v[i] : Foundation.log1p(Foundation.exp(v[i]))) * R64[i] }
        }, "softplus dx")
        XCTAssertEqual(dsp[3], R[3])
    }

    func testEmbedding() {
        var rng = TestRNG(43)
        let (vocab, dim) = (6, 4)
        let ids = [2, 0, 2, 5, 2, 1]
        let table = rng.floats(vocab * dim), R = rng.floats(ids.count * dim)
        var y = [Float](repeating: 0, count: ids.count * dim)
        Embedding.forward(table: table, vocab: vocab, dim: dim, ids: ids, count: ids.count, y: &y)
        for (i, id) in ids.enumerated() { XCTAssertEqual(Array(y[(i * dim)..<((i + 1) * dim)]), Array(table[(id * dim)..<((id + 1) * dim)])) }
        var dT = [Float](repeating: 0, count: vocab * dim)
        Embedding.backward(ids: ids, count: ids.count, dim: dim, dy: R, dTable: &dT, vocab: vocab)
        let R64 = R.f64
        let fd = GradCheck.numericGradient(table.f64) { t in
            var s = 0.0
            for (i, id) in ids.enumerated() { for c in 0..<dim { s += t[id * dim + c] * R64[i * dim + c] } }
            return s
        }
        GradCheck.assertClose(dT, fd, "embedding dTable")
        XCTAssertEqual(Array(dT[(3 * dim)..<(5 * dim)]), [Float](repeating: 0, count: 2 * dim), "unused rows")
    }

    static func ce64(_ logits: [Double], rows: Int, classes: Int, ld: Int, targets: [Int]) -> Double {
        var total = 0.0, count = 0
        for i in 0..<rows where targets[i] != CrossEntropy.ignoreIndex {
            let row = logits[(i * ld)..<(i * ld + classes)]
            let m = row.max()!
            let lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
            total += lse - logits[i * ld + targets[i]]
            count += 1
        }
        return total / Double(count)
    }

    /// Masked-LM style: ignored rows, strided logits; loss and dLogits.
    func testCrossEntropyWithIgnoreIndex() {
        var rng = TestRNG(44)
        let (rows, classes, ld) = (6, 7, 9)
        let logits = rng.floats(rows * ld, std: 2)
        let targets = [3, -100, 0, 6, -100, 2]
        var dl = [Float](repeating: 5, count: rows * ld)
        let loss = CrossEntropy.lossAndGradient(logits: logits, ld: ld, rows: rows, classes: classes,
                                                targets: targets, dLogits: &dl)
        let ref = Self.ce64(logits.f64, rows: rows, classes: classes, ld: ld, targets: targets)
        XCTAssertEqual(Double(loss), ref, accuracy: 1e-6 * max(1, abs(ref)))
        XCTAssertEqual(CrossEntropy.forward(logits: logits, ld: ld, rows: rows, classes: classes, targets: targets), loss)
        let fd = GradCheck.numericGradient(logits.f64) {
            Self.ce64($0, rows: rows, classes: classes, ld: ld, targets: targets)
        }
        var g = [Float](), f = [Double]()
        for i in 0..<rows {
            for v in 0..<classes { g.append(dl[i * ld + v]); f.append(fd[i * ld + v]) }
            for v in classes..<ld { XCTAssertEqual(dl[i * ld + v], 5, "padding column written") }
        }
        GradCheck.assertClose(g, f, "cross-entropy dLogits")
        XCTAssertEqual(Array(dl[(1 * ld)..<(1 * ld + classes)]), [Float](repeating: 0, count: classes))

        // divisor and scale: the gradient of scale·(sum over rows / divisor).
        var dl2 = [Float](repeating: 0, count: rows * ld)
        let loss2 = CrossEntropy.lossAndGradient(logits: logits, ld: ld, rows: rows, classes: classes,
                                                 targets: targets, dLogits: &dl2, divisor: 8, scale: 0.5)
        XCTAssertEqual(Double(loss2), ref * 4 / 8, accuracy: 1e-6)
        for i in 0..<dl.count where i % ld < classes {
            XCTAssertEqual(dl2[i], dl[i] * 4 / 8 * 0.5, accuracy: 1e-7)
        }

        // all rows ignored: zero loss and gradient rather than NaN.
        var dl3 = [Float](repeating: 1, count: rows * ld)
        let none = [Int](repeating: -100, count: rows)
        XCTAssertEqual(CrossEntropy.lossAndGradient(logits: logits, ld: ld, rows: rows, classes: classes,
                                                    targets: none, dLogits: &dl3), 0)
        for i in 0..<dl3.count where i % ld < classes { XCTAssertEqual(dl3[i], 0) }
    }

    /// Large logits do not overflow (max-subtracted softmax).
    func testCrossEntropyLargeLogits() {
        let logits: [Float] = [1000, 0, -1000, 999]
        var dl = [Float](repeating: 0, count: 4)
        let loss = CrossEntropy.lossAndGradient(logits: logits, rows: 1, classes: 4, targets: [3], dLogits: &dl)
        XCTAssertEqual(Double(loss), Foundation.log(1 + Foundation.exp(-1.0)) + 1, accuracy: 1e-5)
        XCTAssertTrue(dl.allSatisfy { $0.isFinite })
    }

    func testMeanPool() {
        var rng = TestRNG(45)
        let (rows, C) = (5, 3)
        let x = rng.floats(rows * C), R = rng.floats(C)
        var y = [Float](repeating: 0, count: C)
        MeanPool.forward(x: x, rows: rows, channels: C, y: &y)
        for c in 0..<C {
            XCTAssertEqual(Double(y[c]), (0..<rows).reduce(0.0) { $0 + Double(x[$1 * C + c]) } / Double(rows),
                           accuracy: 1e-6)
        }
        var dx = [Float](repeating: .nan, count: rows * C)
        MeanPool.backward(dy: R, rows: rows, channels: C, dx: &dx)
        let R64 = R.f64
        let fd = GradCheck.numericGradient(x.f64) { v in
            (0..<C).reduce(0.0) { acc, c in acc + (0..<rows).reduce(0.0) { $0 + v[$1 * C + c] } / Double(rows) * R64[c] }
        }
        GradCheck.assertClose(dx, fd, "mean pool dx")
        var dx2 = dx
        MeanPool.backward(dy: R, rows: rows, channels: C, dx: &dx2, accumulate: true)
        XCTAssertEqual(dx2, dx.map { $0 + $0 })
    }
}
