import Foundation

/// Which build of the SIMD kernels (scan, conv, norms, the scan's backward pass, dt_proj's `NarrowLinear` and the
/// bf16 conversion of activations) runs. The package builds every
/// target for x86-64-v3 (AVX2 + FMA), so one binary runs on any such CPU, and builds those kernels a second time
/// for x86-64-v4 (AVX-512, target `MambaKernelsAVX512`, the same source files); the choice is made once per
/// process from CPUID. `MAMBA_DNA_KERNELS=avx2` in the environment keeps the AVX2 build on an AVX-512 CPU (to
/// compare the two). Both builds give the same results up to float32 rounding: they run the same arithmetic in
/// 16-lane vectors, one register wide or two.
public enum KernelISA: String, Sendable, CaseIterable {
    case avx512 = "x86-64-v4 (AVX-512)"
    case avx2 = "x86-64-v3 (AVX2)"

    /// The build this process runs.
    public static let current: KernelISA = choose(features: .current,
                                                   request: ProcessInfo.processInfo.environment["MAMBA_DNA_KERNELS"])

    /// The AVX-512 build where the CPU has x86-64-v4 and it is not turned off; else the AVX2 build.
    public static func choose(features: CPUFeatures, request: String?) -> KernelISA {
        #if arch(x86_64)
        if request?.lowercased() == "avx2" { return .avx2 }
        return features.x86_64_v4 ? .avx512 : .avx2
        #else
        return .avx2
        #endif
    }

    /// Whether the kernels' entry points hand over to the AVX-512 build.
    @usableFromInline static let useAVX512 = current == .avx512
}
