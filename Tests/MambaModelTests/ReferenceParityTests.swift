import Foundation
import XCTest
@testable import MambaModel

/// Fixture outputs of state-spaces/mamba, transformers and kuleshov-group/caduceus, reproduced to 1e-4.
final class ReferenceParityTests: XCTestCase {
    let tolerance: Float = 1e-4

    /// One `mamba_simple.Mamba` block, each batch row alone and both packed in one pass.
    func testMambaBlock() throws {
        let io = try Fixtures.io("mamba_block")
        let store = try WeightStore(directory: Fixtures.dir("mamba_block"))
        // Dimensions from the fixture's own config.json (mamba_simple.Mamba's arguments, as the fixture tool wrote them).
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: Fixtures.dir("mamba_block") + "/config.json"))) as? [String: Any])
        func int(_ key: String) throws -> Int { try XCTUnwrap((json[key] as? NSNumber)?.intValue, key) }
        let config = MixerConfig(dModel: try int("d_model"), dState: try int("d_state"), dConv: try int("d_conv"),
                                 expand: try int("expand"))
        XCTAssertEqual(config.dtRank, try int("dt_rank_resolved"))
        XCTAssertEqual(config.dInner, try int("d_inner"))
        let mixer = try MambaMixer.load(store, prefix: "", config: config)
        let input = try io.floats("input"), expected = try io.floats("output")
        let (B, L, d) = (input.shape[0], input.shape[1], input.shape[2])
        var worst: Float = 0
        for b in 0..<B {
            var out = [Float](repeating: 0, count: L * d)
            out.withUnsafeMutableBufferPointer {
                mixer.forward(input.ptr + b * L * d, ldh: d, rows: L, out: $0.baseAddress!, ldo: d, act: MixerActivations(), threads: 2)
            }
            worst = max(worst, maxAbsDiff(out, Array(expected.array[(b * L * d)..<((b + 1) * L * d)])))
        }
        // packed: both rows in one call, reset flags at row starts
        var packed = [Float](repeating: 0, count: B * L * d)
        let segs = Segments(lengths: Array(repeating: L, count: B))
        segs.forwardResets.withUnsafeBufferPointer { rs in
            packed.withUnsafeMutableBufferPointer {
                mixer.forward(input.ptr, ldh: d, rows: B * L, out: $0.baseAddress!, ldo: d, state: MixerState(config),
                              resetBefore: rs.baseAddress, act: MixerActivations(), threads: 2)
            }
        }
        let packedErr = maxAbsDiff(packed, expected.array)
        print("mamba_block: output max abs error \(worst), packed \(packedErr)")
        XCTAssertLessThanOrEqual(worst, tolerance)
        XCTAssertLessThanOrEqual(packedErr, tolerance)
    }

    func testMambaLM() throws {
        try checkModel("mamba_lm", hidden: "hidden_states", expectedArchitecture: "mamba_ssm")
    }

    func testMambaHF() throws {
        try checkModel("mamba_hf", hidden: "last_hidden_state", expectedArchitecture: "transformers-mamba")
    }

    func testCaduceusPH() throws {
        try checkModel("caduceus/caduceus_ph", hidden: "last_hidden_state", expectedArchitecture: "caduceus")
    }

    func testCaduceusPS() throws {
        try checkModel("caduceus/caduceus_ps", hidden: "last_hidden_state", expectedArchitecture: "caduceus")
    }

    func testCaduceusPSUnfused() throws {
        try checkModel("caduceus/caduceus_ps_unfused", hidden: "last_hidden_state", expectedArchitecture: "caduceus")
    }

    /// Hidden states and logits for every batch row, and the same through one packed pass.
    /// The expected widths come from the fixture's outputs: the hidden states' last dimension (2·d_model for RCPS)
    /// and the logits' (the padded vocabulary).
    func checkModel(_ name: String, hidden: String, expectedArchitecture: String) throws {
        let io = try Fixtures.io(name)
        let outputDim = try XCTUnwrap(io.entries[hidden]?.shape.last), vocab = try XCTUnwrap(io.entries["logits"]?.shape.last)
        let model = try MambaCheckpoint.load(Fixtures.dir(name))
        XCTAssertEqual(model.architecture, expectedArchitecture)
        XCTAssertEqual(model.outputDim, outputDim)
        XCTAssertEqual(model.vocabSize, vocab)
        let tokens = try batchTokens(io)
        var hErr: Float = 0, lErr: Float = 0
        for (b, ids) in tokens.enumerated() {
            let h = model.hiddenStates(ids)
            hErr = max(hErr, maxAbsDiff(h, try batchRows(io, hidden, b)))
            lErr = max(lErr, maxAbsDiff(model.logits(hidden: h, rows: ids.count), try batchRows(io, "logits", b)))
        }
        let packed = model.hiddenStates(packed: tokens.flatMap { $0 }, segments: Segments(lengths: tokens.map(\.count)))
        let pErr = maxAbsDiff(packed, try io.floats(hidden).array)
        print("\(name): \(hidden) max abs error \(hErr), logits \(lErr), packed \(pErr)")
        XCTAssertLessThanOrEqual(hErr, tolerance, "\(name) \(hidden)")
        XCTAssertLessThanOrEqual(lErr, tolerance, "\(name) logits")
        XCTAssertLessThanOrEqual(pErr, tolerance, "\(name) packed")
    }
}
