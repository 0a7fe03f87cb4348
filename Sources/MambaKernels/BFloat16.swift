#if !KERNELS_AVX512
internal import MambaKernelsAVX512
#endif

/// bfloat16 (1 sign, 8 exponent, 7 stored significand bits: the upper half of an IEEE fp32) as raw `UInt16` bits.
/// fp32 → bf16 rounds to nearest, ties to even; NaN stays NaN (quieted, sign and upper payload kept); ±Inf and
/// ±0 are exact; finite values past the largest bf16 (≥ 0x1.FFp127 rounded) become ±Inf, as IEEE rounding does.
public enum BFloat16 {
    /// bf16 bits of `f`, rounded to nearest even. Branch-free, so that loops over it vectorise.
    @inlinable @inline(__always)
    public static func fromFloat(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        let rounded = (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16
        let quietNaN = (u >> 16) | 0x0040
        return UInt16(truncatingIfNeeded: u & 0x7FFF_FFFF > 0x7F80_0000 ? quietNaN : rounded)
    }

    /// The fp32 value of bf16 bits (exact).
    @inlinable @inline(__always)
    public static func toFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// `f` rounded to the nearest bf16, as fp32.
    @inlinable @inline(__always)
    public static func rounded(_ f: Float) -> Float { toFloat(fromFloat(f)) }

    /// `count` values from `src` to bf16 bits in `dst`, the bits of `fromFloat` (the AVX-512 or AVX2 build of the loop
    /// below, `KernelISA`).
    public static func convert(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<UInt16>, count: Int) {
        #if !KERNELS_AVX512
        if KernelISA.useAVX512 { MambaKernelsAVX512.BFloat16.convert(src, to: dst, count: count); return }
        #endif
        // A plain loop: LLVM vectorises it (ymm with x86-64-v3; zmm compare, blend and vpmovdw in the AVX-512 build).
        for i in 0..<count { dst[i] = fromFloat(src[i]) }
    }

    /// A row-major fp32 matrix with row stride `lds` into a packed bf16 matrix (row stride `columns`), its rows
    /// split over `threads` threads.
    public static func convertRows(_ src: UnsafePointer<Float>, lds: Int, rows: Int, columns: Int,
                                   to dst: UnsafeMutablePointer<UInt16>, threads: Int = 1) {
        // At least 64 Ki values per part: below that a thread costs more than it saves.
        let parts = Swift.max(1, Swift.min(threads, rows, rows * columns / 65_536))
        Parallel.run(parts) { p in
            let r0 = rows * p / parts, r1 = rows * (p + 1) / parts
            if lds == columns {
                convert(src + r0 * columns, to: dst + r0 * columns, count: (r1 - r0) * columns)
            } else {
                for r in r0..<r1 { convert(src + r * lds, to: dst + r * columns, count: columns) }
            }
        }
    }
}
