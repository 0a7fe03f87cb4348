import CCPUID
import Foundation

/// The instruction-set features the low-precision kernels dispatch on, read from CPUID at run time
/// (not from the compile-time target), so one binary picks its path on the machine it runs on.
public struct CPUFeatures: Equatable, Sendable, CustomStringConvertible {
    /// AVX-512 Foundation, with the operating system saving the zmm/opmask state (XCR0 bits 5–7).
    public var avx512f = false
    /// The AVX-512 subset of x86-64-v4 (F, CD, BW, DQ, VL), saved by the OS: the SIMD kernels' AVX-512 build runs.
    public var x86_64_v4 = false
    /// AVX512_BF16 (`vdpbf16ps`, `vcvtne2ps2bf16`): CPUID.(7,1):EAX[5], usable only with AVX-512 state.
    public var avx512bf16 = false
    /// AMX tiles (CPUID.(7,0):EDX[24]) with the tile state enabled in XCR0 (bits 17–18).
    public var amxTile = false
    /// AMX bf16 tile products (CPUID.(7,0):EDX[22]), usable only with `amxTile`.
    public var amxBF16 = false

    public init(avx512f: Bool = false, avx512bf16: Bool = false, amxTile: Bool = false, amxBF16: Bool = false) {
        self.avx512f = avx512f; self.avx512bf16 = avx512bf16; self.amxTile = amxTile; self.amxBF16 = amxBF16
    }

    /// A CPU with none of the features (the fp32 path everywhere).
    public static let none = CPUFeatures()

    /// What this CPU and operating system offer. `MAMBA_DNA_NO_BF16=1` in the environment hides the bf16 and AMX
    /// features, to run (and check) the fp32 fallback on a machine that has them.
    public static let current: CPUFeatures = {
        var f = detect()
        if let v = ProcessInfo.processInfo.environment["MAMBA_DNA_NO_BF16"], !v.isEmpty, v != "0" {
            f.avx512bf16 = false; f.amxBF16 = false; f.amxTile = false
        }
        return f
    }()

    /// Reads CPUID and XCR0.
    public static func detect() -> CPUFeatures {
        var r: [UInt32] = [0, 0, 0, 0]
        guard mamba_cpuid(7, 0, &r) != 0 else { return .none }
        let ebx7 = r[1], edx7 = r[3], maxSub = r[0]
        var eax71: UInt32 = 0
        if maxSub >= 1, mamba_cpuid(7, 1, &r) != 0 { eax71 = r[0] }
        let xcr0 = mamba_xgetbv0()
        let osAVX512 = xcr0 & 0xE6 == 0xE6          // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
        let osAMX = xcr0 & (3 << 17) == (3 << 17)    // XTILECFG, XTILEDATA
        var f = CPUFeatures()
        f.avx512f = osAVX512 && ebx7 & (1 << 16) != 0
        let v4Bits: UInt32 = (1 << 16) | (1 << 17) | (1 << 28) | (1 << 30) | (1 << 31)   // F, DQ, CD, BW, VL
        f.x86_64_v4 = osAVX512 && ebx7 & v4Bits == v4Bits
        f.avx512bf16 = f.avx512f && eax71 & (1 << 5) != 0
        f.amxTile = osAMX && edx7 & (1 << 24) != 0
        f.amxBF16 = f.amxTile && edx7 & (1 << 22) != 0
        return f
    }

    /// Which bf16 product this CPU runs natively, best first.
    public var bf16Path: BF16Path {
        if amxBF16 { return .amx }
        if avx512bf16 { return .avx512bf16 }
        return .none
    }

    /// The features present, as /proc/cpuinfo names them.
    public var description: String {
        let names = [(avx512f, "avx512f"), (avx512bf16, "avx512_bf16"), (amxTile, "amx_tile"), (amxBF16, "amx_bf16")]
            .filter(\.0).map(\.1)
        return names.isEmpty ? "(none)" : names.joined(separator: " ")
    }
}

/// The native bf16 instructions a CPU has for matrix products.
public enum BF16Path: String, Sendable {
    /// AMX tiles (`tdpbf16ps`): Sapphire Rapids and later Xeons.
    case amx = "amx_bf16"
    /// `vdpbf16ps` on zmm registers: Zen 4, Cooper Lake and later.
    case avx512bf16 = "avx512_bf16"
    /// No bf16 instructions: bf16 entry points run the fp32 product.
    case none
}
