import MambaModel
import SeqIO
import XCTest

/// The README's library example, run as written against bundled files.
final class LibraryExampleTests: XCTestCase {
    func testReadmeLibraryExample() throws {
        let root = CLIRunner.repository.appendingPathComponent("Fixtures")
        var model = try MambaCheckpoint.load(root.appendingPathComponent("reference/caduceus/caduceus_ps").path)
        model.compute = Compute(threads: 4)
        let reader = try SequenceReader(path: root.appendingPathComponent("seqio/reads.fq.gz").path)
        var rows = 0
        while let record = try reader.next() {
            let ids = DNATokenizer.encode(record.sequence)
            let hidden = model.hiddenStates(ids)
            XCTAssertEqual(hidden.count / model.outputDim, record.sequence.count)
            XCTAssertTrue(hidden.allSatisfy(\.isFinite))
            rows += 1
        }
        XCTAssertGreaterThan(rows, 0)
    }
}
