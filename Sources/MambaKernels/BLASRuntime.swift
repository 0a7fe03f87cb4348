import Foundation

/// OpenBLAS (Debian's DYNAMIC_ARCH build) picks its kernels from CPUID when the library loads. Under some
/// hypervisors it falls back to the generic `Prescott` (SSE3) kernels on CPUs with AVX-512, which makes every
/// matrix product 3–4x slower. The choice can only be overridden by `OPENBLAS_CORETYPE` before the library
/// loads, so when that happened the process re-executes itself once with the variable set.
public enum BLASRuntime {
    /// The core OpenBLAS chose (nil when the symbol is not there, e.g. another BLAS).
    public static var coreName: String? {
        #if os(Linux)
        let handle: UnsafeMutableRawPointer? = nil                       // RTLD_DEFAULT
        #else
        let handle = UnsafeMutableRawPointer(bitPattern: -2)            // RTLD_DEFAULT
        #endif
        guard let sym = dlsym(handle, "openblas_get_corename") else { return nil }
        typealias Fn = @convention(c) () -> UnsafePointer<CChar>?
        return unsafeBitCast(sym, to: Fn.self)().map { String(cString: $0) }
    }

    /// Re-executes the program with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to generic kernels on a
    /// CPU that has AVX-512 (SkylakeX kernels) or AVX2 (Haswell). Returns (doing nothing) otherwise, when the
    /// variable is already set, or when the re-exec fails. Call before reading any input.
    public static func useOptimizedKernels() {
        #if os(Linux)
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, let core = coreName?.lowercased(),
              ["prescott", "core2", "nehalem", "katmai", "coppermine", "northwood", "banias", "atom"].contains(core),
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
