// swift-tools-version:6.0
import PackageDescription
import Foundation

// SIMD kernels need the CPU's vector ISA at compile time: without it every lane of a SIMD FMA
// becomes a libm call (≈77x slower). MAMBA_DNA_PORTABLE=1 builds for any x86-64 with AVX2
// (`haswell`), MAMBA_DNA_PORTABLE=generic for the baseline ISA.
let env = ProcessInfo.processInfo.environment
let cpuFlags: [String]
switch env["MAMBA_DNA_PORTABLE"] {
case "generic": cpuFlags = []
case .some(let v) where !v.isEmpty && v != "0": cpuFlags = ["-target-cpu", "haswell"]
default:
    #if arch(x86_64)
    cpuFlags = ["-Xcc", "-march=x86-64-v4"]
    #else
    cpuFlags = []
    #endif
}
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
        .target(name: "MambaKernels", dependencies: ["CBLAS", "CDNNL", "CCPUID"], swiftSettings: fast),
        .target(name: "MambaModel", dependencies: ["MambaKernels", "FileOutput"], swiftSettings: fast),
        .target(name: "MambaTrain", dependencies: ["MambaModel", "FileOutput"], swiftSettings: fast),
        .target(name: "DNATasks", dependencies: ["SeqIO", "MambaModel", "MambaTrain", "FileOutput"], swiftSettings: fast),
        .target(name: "MambaBench", dependencies: ["DNATasks", "MambaModel", "MambaTrain", "MambaKernels"], swiftSettings: fast),
        .executableTarget(name: "MambaDNA", dependencies: [
            "DNATasks", "MambaBench", "FileOutput", "MambaModel",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: fast),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "FileOutputTests", dependencies: ["FileOutput"]),
        .testTarget(name: "SeqIOTests", dependencies: ["SeqIO", "TestSupport"], swiftSettings: fast),
        .testTarget(name: "MambaKernelsTests", dependencies: ["MambaKernels"], swiftSettings: fast),
        .testTarget(name: "MambaModelTests", dependencies: ["MambaModel", "TestSupport"], swiftSettings: fast),
        .testTarget(name: "MambaTrainTests", dependencies: ["MambaTrain"], swiftSettings: fast),
        .testTarget(name: "DNATasksTests", dependencies: ["DNATasks", "SeqIO", "MambaModel", "TestSupport"],
                    swiftSettings: fast),
        .testTarget(name: "CLITests", dependencies: ["MambaDNA", "DNATasks", "TestSupport"], exclude: ["HelpText"],
                    swiftSettings: fast),
    ],
    swiftLanguageModes: [.v5]
)
