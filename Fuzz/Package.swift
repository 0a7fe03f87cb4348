// swift-tools-version:6.0
import Foundation
import PackageDescription

// libFuzzer harnesses for the file parsers of mamba-dna; not part of the root package. Build and run them with
// `scripts/fuzz` (see README.md), which builds with `-sanitize=fuzzer,address`.
//
// The root package is a dependency by path. Its identity is the name of its folder, which must differ from this
// package's own (`fuzz`): scripts/fuzz points MAMBA_DNA_ROOT at a link named `mamba-dna`, so a checkout folder of
// any name builds.
let rootPath = ProcessInfo.processInfo.environment["MAMBA_DNA_ROOT"] ?? ".."
let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let rootIdentity = URL(fileURLWithPath: rootPath, relativeTo: here).standardized.lastPathComponent.lowercased()

func root(_ product: String) -> Target.Dependency { .product(name: product, package: rootIdentity) }

/// harness name (as scripts/fuzz and Fixtures/fuzz/ call it) → target, and what it reads.
let harnesses: [(name: String, target: String, uses: [String])] = [
    ("sequence-reader", "FuzzSequenceReader", ["SeqIO", "DNATasks"]),
    ("alignment-reader", "FuzzAlignmentReader", ["SeqIO", "DNATasks"]),
    ("safetensors", "FuzzSafetensors", ["MambaModel", "DNATasks"]),
    ("torch-checkpoint", "FuzzTorchCheckpoint", ["MambaModel"]),
    ("motifs", "FuzzMotifs", ["DNATasks"]),
    ("region", "FuzzRegion", ["SeqIO"]),
]

let package = Package(
    name: "mamba-dna-fuzz",
    products: harnesses.map { .executable(name: "fuzz-" + $0.name, targets: [$0.target]) },
    dependencies: [.package(path: rootPath)],
    targets: [
        .target(name: "CFuzzSupport", linkerSettings: [.linkedLibrary("hts"), .linkedLibrary("z")]),
        .target(name: "FuzzSupport", dependencies: ["CFuzzSupport"]),
    ] + harnesses.map { h in
        .executableTarget(name: h.target, dependencies: ["FuzzSupport"] + h.uses.map(root))
    },
    swiftLanguageModes: [.v5]
)
