// swift-tools-version:6.0
import PackageDescription
import Foundation

// SIMD kernels need the CPU's vector ISA at compile time: without it every lane of a SIMD FMA becomes a libm call
// (≈77x slower). Every target is built for x86-64-v3 (AVX2 + FMA), so the binary runs on any such CPU; the SIMD
// kernels are built a second time for x86-64-v4 (AVX-512, target MambaKernelsAVX512: the same files, linked) and
// chosen at run time (`KernelISA`). MAMBA_DNA_PORTABLE=generic builds the rest for the baseline x86-64 ISA.
let env = ProcessInfo.processInfo.environment
let cpuFlags: [String]
let avx512Flags: [String]
#if arch(x86_64)
avx512Flags = ["-Xcc", "-march=x86-64-v4"]
switch env["MAMBA_DNA_PORTABLE"] {
case "generic": cpuFlags = []
default: cpuFlags = ["-Xcc", "-march=x86-64-v3"]
}
#else
avx512Flags = []
cpuFlags = []
#endif
let fast: [SwiftSetting] = [.unsafeFlags(cpuFlags)]

let package = Package(
    name: "mamba-dna",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mamba-dna", targets: ["MambaDNA"]),
        .library(name: "SeqIO", targets: ["SeqIO"]),
        .library(name: "MambaModel", targets: ["MambaModel"]),
        .library(name: "DNATasks", targets: ["DNATasks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CHTSLib", pkgConfig: "htslib",
                       providers: [.apt(["libhts-dev"]), .brew(["htslib"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"]), .brew(["onednn"])]),
        .systemLibrary(name: "CBigWig", providers: [.apt(["libbigwig-dev"])]),
        .systemLibrary(name: "CCPUID"),
        .target(name: "FileOutput"),
        .target(name: "SeqIO", dependencies: ["CHTSLib", "CBigWig", "FileOutput"], swiftSettings: fast),
        .target(name: "MambaKernelsAVX512", swiftSettings: [.unsafeFlags(avx512Flags), .define("KERNELS_AVX512")]),
        .target(name: "MambaKernels", dependencies: ["CBLAS", "CDNNL", "CCPUID", "MambaKernelsAVX512"], swiftSettings: fast),
        .target(name: "MambaModel", dependencies: ["MambaKernels", "FileOutput"], swiftSettings: fast),
        .target(name: "MambaTrain", dependencies: ["MambaModel", "FileOutput"], swiftSettings: fast),
        .target(name: "DNATasks", dependencies: ["SeqIO", "MambaModel", "MambaTrain", "FileOutput"], swiftSettings: fast),
        .target(name: "MambaBench", dependencies: ["DNATasks", "MambaModel", "MambaKernels"], swiftSettings: fast),
        .executableTarget(name: "MambaDNA", dependencies: [
            "DNATasks", "MambaBench", "FileOutput", "MambaModel",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: fast),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "FileOutputTests", dependencies: ["FileOutput"]),
        .testTarget(name: "SeqIOTests", dependencies: ["SeqIO", "TestSupport"], swiftSettings: fast),
        .testTarget(name: "MambaKernelsTests", dependencies: ["MambaKernels", "MambaKernelsAVX512"], swiftSettings: fast),
        .testTarget(name: "MambaModelTests", dependencies: ["MambaModel", "TestSupport"], swiftSettings: fast),
        .testTarget(name: "MambaTrainTests", dependencies: ["MambaTrain"], swiftSettings: fast),
        .testTarget(name: "DNATasksTests", dependencies: ["DNATasks", "SeqIO", "MambaModel", "TestSupport"],
                    swiftSettings: fast),
        .testTarget(name: "CLITests", dependencies: ["MambaDNA", "DNATasks", "TestSupport"], exclude: ["HelpText"],
                    swiftSettings: fast),
    ],
    swiftLanguageModes: [.v5]
)
