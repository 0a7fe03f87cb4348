import Foundation

/// The kept fuzzing crashers (`Fixtures/fuzz/crashers/HARNESS/`, see Fuzz/README.md) for the regression tests.
public enum FuzzCrashers {
    /// The files of `Fixtures/fuzz/crashers/HARNESS/` in name order (none when the folder does not exist).
    public static func files(_ harness: String) throws -> [URL] {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz/crashers/\(harness)")
        guard FileManager.default.fileExists(atPath: dir.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Runs every step, whatever the others did, and returns the errors they threw.
    public static func errors(_ steps: () throws -> Void...) -> [Error] {
        steps.compactMap { step in
            do {
                try step()
                return nil
            } catch { return error }
        }
    }
}
