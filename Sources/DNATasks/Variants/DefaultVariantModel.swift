import Foundation

/// Where the shipped variant model lives, found the same way as the species model
/// (`DefaultModels.species()`): `$MAMBA_DNA_VARIANT_MODEL`, then `<bin>/mamba-dna-models/variants`,
/// `<bin>/../share/mamba-dna/models/variants`, `Fixtures/models/variants` in a directory above the
/// binary, and the source tree this file was compiled from.
public enum DefaultVariantModel {
    public static let name = "variants"

    public static func path() -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["MAMBA_DNA_VARIANT_MODEL"], !env.isEmpty { return env }
        func isModel(_ u: URL) -> Bool { fm.fileExists(atPath: u.appendingPathComponent("config.json").path) }
        var candidates: [URL] = []
        if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            let bin = exe.deletingLastPathComponent()
            candidates.append(bin.appendingPathComponent("mamba-dna-models/\(name)"))
            candidates.append(bin.deletingLastPathComponent().appendingPathComponent("share/mamba-dna/models/\(name)"))
            var dir = bin
            for _ in 0..<6 {
                candidates.append(dir.appendingPathComponent("Fixtures/models/\(name)"))
                dir = dir.deletingLastPathComponent()
            }
        }
        // Sources/DNATasks/Variants/<this file> → the package root.
        var source = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { source = source.deletingLastPathComponent() }
        candidates.append(source.appendingPathComponent("Fixtures/models/\(name)"))
        return candidates.first(where: isModel)?.path
    }
}
