import Foundation

/// Where the bundled models live. They ship in the source tree as `Fixtures/models/<name>/`; an
/// installed binary finds one, in this order, through
///   1. an environment variable naming a model directory (`$MAMBA_DNA_DEFAULT_MODEL` for the species
///      classifier, `$MAMBA_DNA_VARIANT_MODEL` for the variant model),
///   2. `<bin>/mamba-dna-models/<name>` or `<bin>/../share/mamba-dna/models/<name>` (installed copies),
///   3. `Fixtures/models/<name>` in a directory above the binary (the build tree `.build/<config>/`),
///   4. the source tree this file was compiled from.
public enum DefaultModels {
    /// The species read-origin classifier used by `classify` without `--model`.
    public static func species() -> String? { locate("species", environment: "MAMBA_DNA_DEFAULT_MODEL") }

    /// The variant genotyper used by `annotate` without `--variant-model`.
    public static func variants() -> String? { locate("variants", environment: "MAMBA_DNA_VARIANT_MODEL") }

    /// The first candidate directory holding a `config.json`, or nil.
    static func locate(_ name: String, environment variable: String) -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment[variable], !env.isEmpty { return env }
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
        // Sources/DNATasks/<this file> → the package root.
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(source.appendingPathComponent("Fixtures/models/\(name)"))
        return candidates.first(where: isModel)?.path
    }
}
