import Foundation

/// Where the bundled models live. They ship in the source tree as `Fixtures/models/<name>/`; an
/// installed binary finds one, in this order, through
///   1. an environment variable naming a model directory (`$MAMBA_DNA_DEFAULT_MODEL` for the species
///      classifier, `$MAMBA_DNA_VARIANT_MODEL` for the variant model),
///   2. `$MAMBA_DNA_MODELS/<name>` (a folder of models),
///   3. `<bin>/mamba-dna-models/<name>` or `<bin>/../share/mamba-dna/models/<name>` (installed copies),
///   4. `Fixtures/models/<name>` in a directory above the binary (the build tree `.build/<config>/`),
///   5. the source tree this file was compiled from.
public enum DefaultModels {
    /// The names of the bundled models, which `--model`, `--init`, `--motif-model`, `--variant-model` and `info`
    /// accept in place of a directory.
    public static let names = ["species", "16s", "encoder", "ctcf", "variants"]

    /// `argument` as given when it names something that exists (a directory, a file, `-`); otherwise, when it is
    /// the name of a bundled model, that model's directory; otherwise `argument` (its reader then says what is wrong).
    public static func resolve(_ argument: String) -> String {
        guard argument != "-", !FileManager.default.fileExists(atPath: argument), names.contains(argument),
              let dir = locate(argument, environment: nil) else { return argument }
        return dir
    }

    /// The species read-origin classifier used by `classify` without `--model`.
    public static func species() -> String? { locate("species", environment: "MAMBA_DNA_DEFAULT_MODEL") }

    /// The variant genotyper used by `annotate` without `--variant-model`.
    public static func variants() -> String? { locate("variants", environment: "MAMBA_DNA_VARIANT_MODEL") }

    /// The first candidate directory holding a `config.json`, or nil.
    static func locate(_ name: String, environment variable: String?) -> String? {
        let fm = FileManager.default
        let environment = ProcessInfo.processInfo.environment
        if let variable, let env = environment[variable], !env.isEmpty { return env }
        func isModel(_ u: URL) -> Bool { fm.fileExists(atPath: u.appendingPathComponent("config.json").path) }
        var candidates: [URL] = []
        if let folder = environment["MAMBA_DNA_MODELS"], !folder.isEmpty {
            candidates.append(URL(fileURLWithPath: folder).appendingPathComponent(name))
        }
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
