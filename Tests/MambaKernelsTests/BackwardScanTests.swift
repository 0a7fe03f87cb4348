import Foundation
import MambaKernels
import XCTest

/// Finite-difference checks of `SelectiveScanBackward` against a Float64 forward (method: BackwardGradCheckTests).
final class BackwardScanTests: XCTestCase {
    /// Inputs of one scan problem; B and C live in one (length, ldBC) buffer like an x_proj output:
    /// columns [0, n) are B, [n, 2n) are C, the rest is padding.
    struct Problem {
        var length: Int, d: Int, n: Int, ldBC: Int
        var u: [Float], delta: [Float], A: [Float], BC: [Float], D: [Float]?, z: [Float]?, bias: [Float]?
        var h0: [Float]?
        var reset: [UInt8]?
        var R: [Float]

        init(length: Int, d: Int, n: Int, gate: Bool, skip: Bool, bias: Bool, initial: Bool, resets: [Int],
             seed: UInt64) {
            var rng = TestRNG(seed)
            self.length = length; self.d = d; self.n = n; ldBC = 2 * n + 3
            u = rng.floats(length * d)
            delta = rng.floats(length * d, mean: -1, std: 0.5)
            A = (0..<(d * n)).map { i in -Float(1 + i % n) * Float(0.5 + rng.uniform()) }
            BC = rng.floats(length * ldBC)
            D = skip ? rng.floats(d) : nil
            z = gate ? rng.floats(length * d) : nil
            self.bias = bias ? rng.floats(d, mean: 0, std: 0.3) : nil
            h0 = initial ? rng.floats(d * n) : nil
            if resets.isEmpty { reset = nil } else {
                var r = [UInt8](repeating: 0, count: length)
                for t in resets { r[t] = 1 }
                reset = r
            }
            R = rng.floats(length * d)
        }
    }

    /// Float64 forward, the same math as `SelectiveScan.forwardReference`.
    static func forward64(_ p: Problem, u: [Double], delta: [Double], A: [Double], BC: [Double], D: [Double]?,
                          z: [Double]?, bias: [Double]?, h0: [Double]?) -> [Double] {
        let (d, n) = (p.d, p.n)
        var h = h0 ?? [Double](repeating: 0, count: d * n)
        var out = [Double](repeating: 0, count: p.length * d)
        for t in 0..<p.length {
            if let r = p.reset, r[t] != 0 { h = [Double](repeating: 0, count: d * n) }
            for c in 0..<d {
                let v = delta[t * d + c] + (bias?[c] ?? 0)
                let dt = v > 20 ? v : Foundation.log1p(Foundation.exp(v))
                let x = u[t * d + c]
                var y = 0.0
                for s in 0..<n {
                    h[c * n + s] = Foundation.exp(dt * A[c * n + s]) * h[c * n + s] + dt * BC[t * p.ldBC + s] * x
                    y += h[c * n + s] * BC[t * p.ldBC + n + s]
                }
                if let D { y += D[c] * x }
                if let z { let g = z[t * d + c]; y *= g / (1 + Foundation.exp(-g)) }
                out[t * d + c] = y
            }
        }
        return out
    }

    struct Grads {
        var du: [Float], ddelta: [Float], dA: [Float], dBC: [Float], dD: [Float], dz: [Float], dBias: [Float]
        var dh0: [Float]
    }

    static func backward(_ p: Problem, chunk: Int, fast: Bool = false) -> Grads {
        let (L, d, n) = (p.length, p.d, p.n)
        var g = Grads(du: .init(repeating: .nan, count: L * d), ddelta: .init(repeating: .nan, count: L * d),
                      dA: .init(repeating: 0, count: d * n), dBC: .init(repeating: 0, count: L * p.ldBC),
                      dD: .init(repeating: 0, count: d), dz: .init(repeating: .nan, count: L * d),
                      dBias: .init(repeating: 0, count: d), dh0: .init(repeating: .nan, count: d * n))
        let dy = p.R   // loss = Σ out·R
        p.BC.withUnsafeBufferPointer { bc in
            g.dBC.withUnsafeMutableBufferPointer { dbc in
                let run = fast ? SelectiveScanBackward.backward : SelectiveScanBackward.backwardReference
                run(p.u, p.delta, p.A, bc.baseAddress!, bc.baseAddress! + n, p.ldBC, p.D, p.z, p.bias, p.h0, dy,
                    &g.du, &g.ddelta, &g.dA, dbc.baseAddress!, dbc.baseAddress! + n, nil, &g.dD, &g.dz, &g.dBias,
                    &g.dh0, L, d, n, p.reset, chunk)
            }
        }
        return g
    }

    func check(_ p: Problem, chunk: Int, fast: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        // The Float64 forward is the library's forward.
        var y = [Float](repeating: 0, count: p.length * p.d)
        var state = p.h0 ?? [Float](repeating: 0, count: p.d * p.n)
        p.BC.withUnsafeBufferPointer { bc in
            SelectiveScan.forwardReference(u: p.u, delta: p.delta, A: p.A, B: bc.baseAddress!, C: bc.baseAddress! + p.n,
                                           ldBC: p.ldBC, D: p.D, z: p.z, deltaBias: p.bias, state: &state, y: &y,
                                           length: p.length, d: p.d, n: p.n, resetBefore: p.reset)
        }
        let y64 = Self.forward64(p, u: p.u.f64, delta: p.delta.f64, A: p.A.f64, BC: p.BC.f64, D: p.D?.f64,
                                 z: p.z?.f64, bias: p.bias?.f64, h0: p.h0?.f64)
        GradCheck.assertClose(y, y64, "forward out", tolerance: 1e-5, file: file, line: line)

        let g = Self.backward(p, chunk: chunk, fast: fast)
        let R = p.R.f64
        let base = (u: p.u.f64, delta: p.delta.f64, A: p.A.f64, BC: p.BC.f64, D: p.D?.f64, z: p.z?.f64,
                    bias: p.bias?.f64, h0: p.h0?.f64)
        typealias In = (u: [Double], delta: [Double], A: [Double], BC: [Double], D: [Double]?, z: [Double]?,
                        bias: [Double]?, h0: [Double]?)
        func lossOf(_ x: In) -> Double {
            GradCheck.dot(Self.forward64(p, u: x.u, delta: x.delta, A: x.A, BC: x.BC, D: x.D, z: x.z, bias: x.bias,
                                         h0: x.h0), R)
        }
        GradCheck.assertClose(g.du, GradCheck.numericGradient(base.u) { var x = base; x.u = $0; return lossOf(x) },
                              "du", file: file, line: line)
        GradCheck.assertClose(g.ddelta,
                              GradCheck.numericGradient(base.delta) { var x = base; x.delta = $0; return lossOf(x) },
                              "ddelta", file: file, line: line)
        GradCheck.assertClose(g.dA, GradCheck.numericGradient(base.A) { var x = base; x.A = $0; return lossOf(x) },
                              "dA", file: file, line: line)
        // dB and dC are written into their columns only; the padding columns must stay untouched (zero).
        GradCheck.assertClose(g.dBC, GradCheck.numericGradient(base.BC) { var x = base; x.BC = $0; return lossOf(x) },
                              "dB|dC", file: file, line: line)
        if let D = base.D {
            GradCheck.assertClose(g.dD, GradCheck.numericGradient(D) { var x = base; x.D = $0; return lossOf(x) },
                                  "dD", file: file, line: line)
        }
        if let z = base.z {
            GradCheck.assertClose(g.dz, GradCheck.numericGradient(z) { var x = base; x.z = $0; return lossOf(x) },
                                  "dz", file: file, line: line)
        }
        if let b = base.bias {
            GradCheck.assertClose(g.dBias, GradCheck.numericGradient(b) { var x = base; x.bias = $0; return lossOf(x) },
                                  "dDeltaBias", file: file, line: line)
        }
        if let h0 = base.h0 {
            GradCheck.assertClose(g.dh0, GradCheck.numericGradient(h0) { var x = base; x.h0 = $0; return lossOf(x) },
                                  "dInitialState", file: file, line: line)
        }
    }

    /// Every input, with gate, skip, bias, an initial state, two resets and checkpoints every 4 steps.
    func testAllInputsWithResetsAndChunks() {
        check(Problem(length: 19, d: 5, n: 3, gate: true, skip: true, bias: true, initial: true, resets: [7, 13],
                      seed: 11), chunk: 4)
    }

    /// Reset at a chunk boundary and at t = 0 (the initial state then gets no gradient).
    func testResetAtChunkBoundaryAndStart() {
        let p = Problem(length: 12, d: 3, n: 4, gate: true, skip: true, bias: true, initial: true, resets: [0, 8],
                        seed: 12)
        check(p, chunk: 4)
        XCTAssertEqual(Self.backward(p, chunk: 4).dh0, [Float](repeating: 0, count: 12))
    }

    /// No gate, no skip, no bias; the whole sequence inside one chunk.
    func testWithoutOptionalInputs() {
        check(Problem(length: 10, d: 4, n: 2, gate: false, skip: false, bias: false, initial: false, resets: [],
                      seed: 13), chunk: 64)
    }

    /// softplus above its threshold (delta + bias > 20) is the identity; its derivative is 1.
    func testSoftplusThresholdBranch() {
        var p = Problem(length: 6, d: 3, n: 2, gate: true, skip: true, bias: true, initial: false, resets: [],
                        seed: 14)
        p.delta[4] = 25
        p.A = p.A.map { $0 * 0.01 }   // keep exp(Δ·A) away from underflow at Δ = 25
        check(p, chunk: 2)
    }

    /// The checkpoint interval changes memory use, never the result.
    func testChunkSizeDoesNotChangeResult() {
        let p = Problem(length: 23, d: 4, n: 3, gate: true, skip: true, bias: true, initial: true, resets: [5, 17],
                        seed: 15)
        let ref = Self.backward(p, chunk: 64)
        for chunk in [1, 3, 5, 23] {
            let g = Self.backward(p, chunk: chunk)
            XCTAssertEqual(g.du, ref.du); XCTAssertEqual(g.ddelta, ref.ddelta); XCTAssertEqual(g.dA, ref.dA)
            XCTAssertEqual(g.dBC, ref.dBC); XCTAssertEqual(g.dD, ref.dD); XCTAssertEqual(g.dz, ref.dz)
            XCTAssertEqual(g.dBias, ref.dBias); XCTAssertEqual(g.dh0, ref.dh0)
        }
    }

    /// A packed batch (two sequences with a reset between) gives the same gradients as two separate calls,
    /// and dA, dD, dDeltaBias accumulate across calls.
    func testPackedEqualsSeparateAndAccumulates() {
        let p = Problem(length: 14, d: 3, n: 2, gate: true, skip: true, bias: true, initial: false, resets: [0, 6],
                        seed: 16)
        let packed = Self.backward(p, chunk: 4)
        func part(_ range: Range<Int>) -> Problem {
            var q = p
            q.length = range.count
            let (d, ld) = (p.d, p.ldBC)
            q.u = Array(p.u[(range.lowerBound * d)..<(range.upperBound * d)])
            q.delta = Array(p.delta[(range.lowerBound * d)..<(range.upperBound * d)])
            q.z = Array(p.z![(range.lowerBound * d)..<(range.upperBound * d)])
            q.R = Array(p.R[(range.lowerBound * d)..<(range.upperBound * d)])
            q.BC = Array(p.BC[(range.lowerBound * ld)..<(range.upperBound * ld)])
            q.reset = nil
            return q
        }
        let a = Self.backward(part(0..<6), chunk: 4), b = Self.backward(part(6..<14), chunk: 4)
        XCTAssertEqual(packed.du, a.du + b.du)
        XCTAssertEqual(packed.dz, a.dz + b.dz)
        XCTAssertEqual(packed.dBC, a.dBC + b.dBC)
        for i in 0..<packed.dA.count { XCTAssertEqual(packed.dA[i], a.dA[i] + b.dA[i], accuracy: 1e-5 * (1 + abs(packed.dA[i]))) }
        for i in 0..<p.d {
            XCTAssertEqual(packed.dD[i], a.dD[i] + b.dD[i], accuracy: 1e-5 * (1 + abs(packed.dD[i])))
            XCTAssertEqual(packed.dBias[i], a.dBias[i] + b.dBias[i], accuracy: 1e-5 * (1 + abs(packed.dBias[i])))
        }
        // Accumulation: a second call onto the same dA adds the same amount again.
        var dA = a.dA, dD = a.dD, dBias = a.dBias
        let q = part(0..<6)
        var du = [Float](repeating: 0, count: q.length * q.d), dd = du, dz = du
        var dBC = [Float](repeating: 0, count: q.length * q.ldBC)
        q.BC.withUnsafeBufferPointer { bc in
            dBC.withUnsafeMutableBufferPointer { dbc in
                SelectiveScanBackward.backwardReference(
                    u: q.u, delta: q.delta, A: q.A, B: bc.baseAddress!, C: bc.baseAddress! + q.n, ldBC: q.ldBC,
                    D: q.D, z: q.z, deltaBias: q.bias, initialState: nil, dOut: q.R, du: &du, ddelta: &dd, dA: &dA,
                    dB: dbc.baseAddress!, dC: dbc.baseAddress! + q.n, dD: &dD, dz: &dz, dDeltaBias: &dBias,
                    length: q.length, d: q.d, n: q.n)
            }
        }
        XCTAssertEqual(dA, a.dA.map { $0 + $0 })
        XCTAssertEqual(dD, a.dD.map { $0 + $0 })
        XCTAssertEqual(dBias, a.dBias.map { $0 + $0 })
    }

    // MARK: the SIMD16 version

    /// Finite differences on the fast version directly (d = 32: two 16-channel blocks), every input.
    func testFastAllInputsWithResetsAndChunks() {
        check(Problem(length: 13, d: 32, n: 3, gate: true, skip: true, bias: true, initial: true, resets: [4, 9],
                      seed: 17), chunk: 4, fast: true)
        check(Problem(length: 9, d: 16, n: 2, gate: false, skip: false, bias: false, initial: false, resets: [],
                      seed: 18), chunk: 64, fast: true)
    }

    /// Fast and reference agree to fp32 rounding on a longer problem with resets and the softplus threshold;
    /// d not a multiple of 16 takes the reference path and is bit-identical.
    func testFastMatchesReference() {
        var p = Problem(length: 150, d: 48, n: 16, gate: true, skip: true, bias: true, initial: true,
                        resets: [37, 64, 101], seed: 19)
        p.delta[5 * 48 + 3] = 24
        let ref = Self.backward(p, chunk: 64), fast = Self.backward(p, chunk: 64, fast: true)
        let pairs: [(String, [Float], [Float])] = [
            ("du", fast.du, ref.du), ("ddelta", fast.ddelta, ref.ddelta), ("dA", fast.dA, ref.dA),
            ("dB|dC", fast.dBC, ref.dBC), ("dD", fast.dD, ref.dD), ("dz", fast.dz, ref.dz),
            ("dDeltaBias", fast.dBias, ref.dBias), ("dInitialState", fast.dh0, ref.dh0)]
        for (name, f, r) in pairs { GradCheck.assertClose(f, r.f64, "fast vs reference \(name)", tolerance: 1e-5) }

        // The Mamba block's shape: d = 64, n = 16, two packed sequences.
        let block = Problem(length: 96, d: 64, n: 16, gate: true, skip: true, bias: true, initial: false,
                            resets: [0, 48], seed: 21)
        let rb = Self.backward(block, chunk: 64), fb = Self.backward(block, chunk: 64, fast: true)
        GradCheck.assertClose(fb.du, rb.du.f64, "fast vs reference (block) du", tolerance: 1e-5)
        GradCheck.assertClose(fb.dD, rb.dD.f64, "fast vs reference (block) dD", tolerance: 1e-5)
        GradCheck.assertClose(fb.dA, rb.dA.f64, "fast vs reference (block) dA", tolerance: 1e-5)

        // A mixer's packed batch (d_inner = 32, d_state = 8): four sequences, one of length 1; every output.
        let packed = Problem(length: 150, d: 32, n: 8, gate: true, skip: true, bias: true, initial: false,
                             resets: [0, 37, 38, 100], seed: 22)
        let rp = Self.backward(packed, chunk: 64), fp = Self.backward(packed, chunk: 64, fast: true)
        let packedPairs: [(String, [Float], [Float])] = [
            ("du", fp.du, rp.du), ("ddelta", fp.ddelta, rp.ddelta), ("dA", fp.dA, rp.dA),
            ("dB|dC", fp.dBC, rp.dBC), ("dD", fp.dD, rp.dD), ("dz", fp.dz, rp.dz),
            ("dDeltaBias", fp.dBias, rp.dBias)]
        for (name, f, r) in packedPairs {
            GradCheck.assertClose(f, r.f64, "fast vs reference (packed) \(name)", tolerance: 1e-5)
        }

        let odd = Problem(length: 20, d: 5, n: 3, gate: true, skip: true, bias: true, initial: true, resets: [7],
                          seed: 20)
        let a = Self.backward(odd, chunk: 8), b = Self.backward(odd, chunk: 8, fast: true)
        XCTAssertEqual(a.du, b.du); XCTAssertEqual(a.dA, b.dA); XCTAssertEqual(a.dBC, b.dBC)
    }

    /// The polynomial exp the fast version uses (`FastMath.exp`) against Foundation.exp over the range the scan uses.
    func testVectorExp() {
        var worst: Float = 0
        var x: Float = -87
        while x + 15 * 0.0137 < 88 {   // inside the clamp range
            let v = SIMD16<Float>((0..<16).map { x + Float($0) * 0.0137 })
            let e = FastMath.exp(v)
            for l in 0..<16 { worst = max(worst, abs(e[l] - Foundation.exp(v[l])) / Foundation.exp(v[l])) }
            x += 0.219
        }
        XCTAssertLessThan(worst, 1e-6)
    }
}
