import Foundation
import XCTest

/// `scripts/install-prefix` (what `scripts/setup --prefix DIR` runs) and how an installed binary finds the bundled
/// models: by name, from its own prefix, or from `$MAMBA_DNA_MODELS`.
final class InstallTests: XCTestCase {
    var work: URL!
    let repo = CLIRunner.repository

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("install-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func bundledModels() throws -> [String] {
        let dir = repo.appendingPathComponent("Fixtures/models").path
        return try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { FileManager.default.fileExists(atPath: dir + "/" + $0 + "/config.json") }.sorted()
    }

    /// `info` of a model prints its directory as the `path` field.
    func infoPath(_ r: CLIRunner.Result) -> String? {
        r.stdout.split(separator: "\n").first { $0.hasPrefix("path\t") }.map { String($0.dropFirst("path\t".count)) }
    }

    func testInstalledPrefixHoldsTheBinaryModelsDemoAndCompletions() throws {
        let binary = try XCTUnwrap(CLIRunner.binary)
        let prefix = work.appendingPathComponent("prefix")
        let r = try CLIRunner.launch(repo.appendingPathComponent("scripts/install-prefix"), [binary.path, prefix.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let installed = prefix.appendingPathComponent("bin/mamba-dna")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: installed.path))
        XCTAssertEqual(FileManager.default.contents(atPath: installed.path), FileManager.default.contents(atPath: binary.path))

        // Every bundled model, byte for byte.
        let models = prefix.appendingPathComponent("share/mamba-dna/models").path
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: models).sorted(), try bundledModels())
        for name in try bundledModels() {
            let source = repo.appendingPathComponent("Fixtures/models/\(name)").path
            let files = try FileManager.default.contentsOfDirectory(atPath: source).sorted()
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: models + "/" + name).sorted(), files, name)
            for f in files {
                XCTAssertEqual(FileManager.default.contents(atPath: models + "/\(name)/\(f)"),
                               FileManager.default.contents(atPath: source + "/" + f), "\(name)/\(f)")
            }
        }

        // Completion scripts for three shells, each naming the subcommands; bash accepts its script.
        let completions = ["share/bash-completion/completions/mamba-dna", "share/zsh/site-functions/_mamba-dna",
                           "share/fish/vendor_completions.d/mamba-dna.fish"]
        for c in completions {
            let text = try String(contentsOf: prefix.appendingPathComponent(c), encoding: .utf8)
            for sub in ["classify", "annotate", "embed", "train", "merge"] { XCTAssertTrue(text.contains(sub), "\(c): \(sub)") }
        }
        let bash = try CLIRunner.launch(URL(fileURLWithPath: "/bin/bash"),
                                        ["-n", prefix.appendingPathComponent(completions[0]).path])
        XCTAssertEqual(bash.status, 0, bash.stderr)

        // The installed binary takes the models of its own prefix (they come before the build and source trees).
        for name in try bundledModels() {
            let info = try CLIRunner.launch(installed, ["info", name])
            XCTAssertEqual(info.status, 0, info.stderr)
            XCTAssertEqual(infoPath(info), models + "/" + name)
        }
        let demo = prefix.appendingPathComponent("share/mamba-dna/demo")
        let reads = try String(contentsOf: demo.appendingPathComponent("species_reads.fa"), encoding: .utf8)
        XCTAssertEqual(reads, try String(contentsOf: repo.appendingPathComponent("Fixtures/demo/species_reads.fa"), encoding: .utf8))
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: demo.appendingPathComponent("run").path))

        // Installing again over an install replaces it and leaves no temporary behind.
        let again = try CLIRunner.launch(repo.appendingPathComponent("scripts/install-prefix"), [binary.path, prefix.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        let leftovers = FileManager.default.enumerator(atPath: prefix.path)!.compactMap { $0 as? String }.filter { $0.contains(".tmp.") }
        XCTAssertEqual(leftovers, [])
    }

    func testBundledNamesAndTheModelsFolder() throws {
        // $MAMBA_DNA_MODELS names a folder of models: a copy of the encoder there is the one `encoder` means.
        let folder = work.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: repo.appendingPathComponent("Fixtures/models/encoder"),
                                         to: folder.appendingPathComponent("encoder"))
        let r = try CLIRunner.run(["info", "encoder"], environment: ["MAMBA_DNA_MODELS": folder.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(infoPath(r), folder.appendingPathComponent("encoder").path)

        // A bundled name missing from that folder is found where it would be without it.
        let species = try CLIRunner.run(["info", "species"], environment: ["MAMBA_DNA_MODELS": folder.path])
        XCTAssertEqual(species.status, 0, species.stderr)
        XCTAssertTrue(try XCTUnwrap(infoPath(species)).hasSuffix("/species"))
        XCTAssertEqual(FileManager.default.contents(atPath: try XCTUnwrap(infoPath(species)) + "/config.json"),
                       FileManager.default.contents(atPath: repo.appendingPathComponent("Fixtures/models/species/config.json").path))

        // A name that is not a bundled model is a missing file, named in one error line.
        try CLIRunner.assertFailedCleanly(try CLIRunner.run(["info", "no-such-model"]), naming: ["no-such-model"])
        try CLIRunner.assertFailedCleanly(try CLIRunner.run(["embed", "--model", "no-such-model",
                                                                             repo.appendingPathComponent("Fixtures/demo/species_reads.fa").path]),
                                          naming: ["no-such-model"])
    }
}
