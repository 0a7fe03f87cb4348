import Foundation

/// OpenBLAS (Debian's DYNAMIC_ARCH build) picks its kernels from CPUID when the library loads. Under some
/// hypervisors it falls back to the generic `Prescott` (SSE3) kernels on CPUs with AVX-512, which makes every
/// matrix product 3–4x slower. The choice can only be overridden by `OPENBLAS_CORETYPE` before the library
/// loads, so when that happened the process re-executes itself once with the variable set.
public enum BLASRuntime {
    /// Re-executes the program with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to generic kernels on a
    /// CPU that has AVX-512 (SkylakeX kernels) or AVX2 (Haswell). Returns (doing nothing) otherwise, when the
    /// variable is already set, or when the re-exec fails. Call before reading any input.
    public static func useOptimizedKernels() {
        #if os(Linux)
        let env = ProcessInfo.processInfo.environment
        let generic = ["prescott", "core2", "nehalem", "katmai", "coppermine", "northwood", "banias", "atom"]
        guard env["OPENBLAS_CORETYPE"] == nil, generic.contains(Gemm.coreName.lowercased()),
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let target: String
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { target = "SkylakeX" }
        else if flags.isSuperset(of: ["avx2", "fma"]) { target = "Haswell" }
        else { return }
        setenv("OPENBLAS_CORETYPE", target, 1)
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // execv only returns on failure: carry on with the generic kernels.
        #endif
    }
}
