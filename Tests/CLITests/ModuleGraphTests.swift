import Foundation
import XCTest

/// `scripts/module-graph --check`: the layers keep to the module graph of the architecture article (nothing above
/// the model imports the kernels; nothing that runs a model imports the trainer).
final class ModuleGraphTests: XCTestCase {
    func testLayerRulesHold() throws {
        let script = CLIRunner.repository.appendingPathComponent("scripts/module-graph").path
        let r = try CLIRunner.launch(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script, "--check"])
        XCTAssertEqual(r.status, 0, r.stdout)
    }
}
