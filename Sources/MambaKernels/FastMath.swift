/// Vectorised transcendental helpers on `SIMD16<Float>` (one AVX-512 register), plus array versions.
///
/// Why not `Foundation.exp`: it is a scalar libm call (≈3 ns per element); these are polynomial
/// approximations that stay in registers, 16 lanes at a time, with errors of a few float32 ulps.
/// The helpers are `@_transparent` because `@inline(__always)` still leaves them as calls inside
/// large loops, which spills the scan's state registers.
///
/// Accuracy (relative, measured against Float64 by FastMathTests):
///   exp      ≤ 2.5e-7 on [−87.33, 88.72]; 0 below −87.34 (no subnormals), +∞ above
///   exp2     ≤ 2.5e-7 on [−126, 128);     0 below −126, +∞ from 128
///   softplus ≤ 4e-7 (PyTorch semantics: x for x > 20, else log1p(eˣ))
///   sigmoid, silu ≤ 4e-7
/// NaN inputs are not propagated reliably.
public enum FastMath {
    public typealias V = SIMD16<Float>

    // MARK: - building blocks

    /// Lane-wise max that lowers to one `vmaxps` (Swift's `pointwiseMax` handles NaN lane by lane).
    @_transparent public static func max(_ a: V, _ b: V) -> V { a.replacing(with: b, where: a .< b) }
    /// Lane-wise min that lowers to one `vminps`.
    @_transparent public static func min(_ a: V, _ b: V) -> V { a.replacing(with: b, where: b .< a) }

    /// 2ˣ = 2ᵏ·2ʳ with k = round(x), r ∈ [−½, ½], for x ∈ [−126, 128] (the caller clamps).
    ///
    /// Rounding: adding 1.5·2²³ pushes the fraction out of the mantissa, so the sum's low bits are the
    /// integer k (two's complement) and `sum << 23` is k already placed in the exponent field.
    /// 2ʳ = 1 + r·q(r), q a degree-4 minimax fit (relative error 1.1e-7), so 2⁰ is exactly 1 and
    /// 2ʳ ≥ 1 for r ≥ 0: with x ≥ −126 the result is always a normal float; x = 128 gives +∞.
    @_transparent public static func exp2Unclamped(_ x: V) -> V {
        let magic = V(repeating: 12582912)  // 1.5 · 2²³
        let s = x + magic
        return scaledExp2(s, x - (s - magic))
    }

    /// 2^(a·b) for a·b ∈ [−126, 128] (unchecked), with the product fused into the range reduction:
    /// k = round(a·b) comes from one FMA with the rounding constant, and r = a·b − k from a second FMA
    /// on the exact product. Two operations fewer than `exp2Unclamped(a * b)`, and r is not rounded twice.
    @_transparent public static func exp2Product(_ a: V, _ b: V) -> V {
        let magic = V(repeating: 12582912)  // 1.5 · 2²³
        let s = magic.addingProduct(a, b)
        return scaledExp2(s, (magic - s).addingProduct(a, b))
    }

    /// `exp2Product` for a·b ≤ 128 with no lower limit: below 2^−125.5 the result is 2^−125.5 (a decay that
    /// small is zero to float32 precision against anything it is added to, and the floor keeps every value
    /// normal, off the slow subnormal paths). Two `vmaxps` more than `exp2Product`, and bit for bit the same
    /// wherever round(a·b) ≥ −125, so a caller may switch between the two per block without changing results.
    @_transparent public static func exp2ProductFloored(_ a: V, _ b: V) -> V {
        let magic = V(repeating: 12582912)  // 1.5 · 2²³
        let s = max(magic.addingProduct(a, b), V(repeating: 12582912 - 125))  // k ≥ −125
        return scaledExp2(s, max((magic - s).addingProduct(a, b), V(repeating: -0.5)))
    }

    /// 2ᵏ·2ʳ, with k in the low bits of `s` (a value rounded by adding 1.5·2²³) and r ∈ [−½, ½].
    @_transparent public static func scaledExp2(_ s: V, _ r: V) -> V {
        var q = V(repeating: 0.001326472731307149)
        q = V(repeating: 0.009671512991189957).addingProduct(q, r)
        q = V(repeating: 0.05550733581185341).addingProduct(q, r)
        q = V(repeating: 0.24022242426872253).addingProduct(q, r)
        q = V(repeating: 0.6931470036506653).addingProduct(q, r)
        let p = V(repeating: 1).addingProduct(q, r)
        let bits = unsafeBitCast(p, to: SIMD16<UInt32>.self)
            &+ (unsafeBitCast(s, to: SIMD16<UInt32>.self) &<< 23)
        return unsafeBitCast(bits, to: V.self)
    }

    /// 2ˣ: 0 below −126 (where float32 would go subnormal), +∞ from 128.
    @_transparent public static func exp2(_ x: V) -> V {
        exp2Unclamped(min(max(x, V(repeating: -126)), V(repeating: 128)))
            .replacing(with: 0, where: x .< -126)
    }

    /// eˣ without the overflow/underflow selects: x is clamped to [−126·ln2, ln(FLT_MAX)], so results
    /// saturate at ≈1.2e-38 and ≈3.4e38. Used inside sigmoid/SiLU/softplus where that is harmless.
    ///
    /// Cody–Waite reduction: x = k·ln2 + r with ln2 split in a short high part (k·ln2_hi is exact) and
    /// a low part, so r is accurate even for large |x|; eʳ = 1 + r·q(r) with q a degree-4 minimax fit
    /// on [−ln2/2, ln2/2] (relative error 9.5e-8); 2ᵏ goes into the exponent bits.
    @_transparent public static func expSaturating(_ x: V) -> V {
        let x = min(max(x, V(repeating: -87.33654)), V(repeating: 88.72283172607422))
        let magic = V(repeating: 12582912)  // 1.5 · 2²³
        let s = magic.addingProduct(x, V(repeating: 1.4426950408889634))  // x·log2(e), rounded by the magic add
        let k = s - magic
        var r = x.addingProduct(k, V(repeating: -0.693359375))
        r = r.addingProduct(k, V(repeating: 2.1219444170128554e-4))
        var q = V(repeating: 0.008290315046906471)
        q = V(repeating: 0.04189793020486832).addingProduct(q, r)
        q = V(repeating: 0.1666763573884964).addingProduct(q, r)
        q = V(repeating: 0.4999915063381195).addingProduct(q, r)
        q = V(repeating: 0.9999997019767761).addingProduct(q, r)
        let p = V(repeating: 1).addingProduct(q, r)
        let bits = unsafeBitCast(p, to: SIMD16<UInt32>.self)
            &+ (unsafeBitCast(s, to: SIMD16<UInt32>.self) &<< 23)
        return unsafeBitCast(bits, to: V.self)
    }

    /// eˣ: 0 below −87.33654 (where float32 would go subnormal), +∞ above ln(FLT_MAX).
    @_transparent public static func exp(_ x: V) -> V {
        expSaturating(x)
            .replacing(with: 0, where: x .< -87.33654)
            .replacing(with: .infinity, where: x .> 88.72283172607422)
    }

    /// log(1 + w) for w ∈ [0, 1].
    /// With s = w / (2 + w) ∈ [0, ⅓]: log(1 + w) = 2·atanh(s) = 2s + s·q·P(q), q = s², where P is a
    /// degree-3 minimax fit (relative error 4e-9). Computing s from w directly keeps full relative
    /// accuracy for tiny w, where forming 1 + w first would lose it.
    @_transparent public static func log1pUnit(_ w: V) -> V {
        let s = w / (V(repeating: 2) + w)
        let q = s * s
        var p = V(repeating: 0.2817833423614502)
        p = V(repeating: 0.27960601449012756).addingProduct(p, q)
        p = V(repeating: 0.40024909377098083).addingProduct(p, q)
        p = V(repeating: 0.6666631698608398).addingProduct(p, q)
        return (s + s).addingProduct(s * q, p)
    }

    /// PyTorch `F.softplus` (beta 1, threshold 20): x for x > 20, else log1p(eˣ),
    /// computed as max(x, 0) + log1p(e^−|x|) so that the log1p argument stays in (0, 1].
    @_transparent public static func softplus(_ x: V) -> V {
        let w = expSaturating(min(x, -x))  // e^−|x|
        let y = max(x, V()) + log1pUnit(w)
        return y.replacing(with: x, where: x .> 20)
    }

    /// σ(x) = 1 / (1 + e⁻ˣ).
    @_transparent public static func sigmoid(_ x: V) -> V {
        V(repeating: 1) / (V(repeating: 1) + expSaturating(-x))
    }

    /// SiLU(x) = x · σ(x).
    @_transparent public static func silu(_ x: V) -> V {
        x / (V(repeating: 1) + expSaturating(-x))
    }

    // MARK: - loads and stores of a partial 16-lane block

    /// Loads `lanes` (1…16) floats into the low lanes, zeros above.
    @_transparent public static func load(_ p: UnsafePointer<Float>, lanes: Int) -> V {
        if lanes == 16 { return UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        var v = V()
        for l in 0..<lanes { v[l] = p[l] }
        return v
    }

    /// Stores the low `lanes` (1…16) lanes.
    @_transparent public static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, lanes: Int) {
        if lanes == 16 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self); return }
        for l in 0..<lanes { p[l] = v[l] }
    }

    // MARK: - array versions (y may alias x)

    @inline(__always)
    static func map(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, _ f: (V) -> V) {
        var i = 0
        while i + 16 <= count {
            store(f(load(x + i, lanes: 16)), y + i, lanes: 16)
            i += 16
        }
        if i < count { store(f(load(x + i, lanes: count - i)), y + i, lanes: count - i) }
    }

    /// y[i] = eˣ⁽ⁱ⁾ over `count` values.
    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        map(x, y, count: count) { exp($0) }
    }
    /// y[i] = softplus(x[i]).
    public static func softplus(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        map(x, y, count: count) { softplus($0) }
    }
    /// y[i] = σ(x[i]).
    public static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        map(x, y, count: count) { sigmoid($0) }
    }
    /// y[i] = SiLU(x[i]).
    public static func silu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        map(x, y, count: count) { silu($0) }
    }

    public static func expInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) { exp(x, x, count: count) }
    public static func softplusInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) { softplus(x, x, count: count) }
    public static func sigmoidInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) { sigmoid(x, x, count: count) }
    public static func siluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) { silu(x, x, count: count) }

    /// Gating as in Mamba's output: x[i] *= SiLU(z[i]).
    public static func mulSiluInPlace(_ x: UnsafeMutablePointer<Float>, gate z: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i < count {
            let lanes = Swift.min(16, count - i)
            store(load(x + i, lanes: lanes) * silu(load(z + i, lanes: lanes)), x + i, lanes: lanes)
            i += 16
        }
    }
}
