import Foundation

/// Where the bundled models live. The species read-origin classifier ships in the source tree as
/// `Fixtures/models/species/`; an installed binary finds it, in this order, through
///   1. `$MAMBA_DNA_DEFAULT_MODEL` (a model directory),
///   2. `<bin>/mamba-dna-models/species` or `<bin>/../share/mamba-dna/models/species` (installed copies),
///   3. `Fixtures/models/species` in a directory above the binary (the build tree `.build/<config>/`),
///   4. the source tree this file was compiled from.
public enum DefaultModels {
    public static let speciesName = "species"

    public static func species() -> String? {
        let fm = FileManager.default
        func isModel(_ u: URL) -> Bool { fm.fileExists(atPath: u.appendingPathComponent("config.json").path) }
        if let env = ProcessInfo.processInfo.environment["MAMBA_DNA_DEFAULT_MODEL"], !env.isEmpty { return env }
        var candidates: [URL] = []
        if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            let bin = exe.deletingLastPathComponent()
            candidates.append(bin.appendingPathComponent("mamba-dna-models/\(speciesName)"))
            candidates.append(bin.deletingLastPathComponent().appendingPathComponent("share/mamba-dna/models/\(speciesName)"))
            var dir = bin
            for _ in 0..<6 {
                candidates.append(dir.appendingPathComponent("Fixtures/models/\(speciesName)"))
                dir = dir.deletingLastPathComponent()
            }
        }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(source.appendingPathComponent("Fixtures/models/\(speciesName)"))
        return candidates.first(where: isModel)?.path
    }
}
