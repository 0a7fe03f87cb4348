import Foundation
import XCTest
@testable import DNATasks

/// QUAL calibration tables and support classes (`QualCalibration`), on hand-made tables.
final class QualCalibrationTests: XCTestCase {
    let calibration = QualCalibration(classes: [
        .init(minReads: 3, minShare: 0.9, table: .init(raw: [10, 30, 50], qual: [21, 28, 38])),
        .init(minReads: 0, minShare: 0, table: .init(raw: [5, 40], qual: [5, 12])),
    ])

    func testTablesInterpolateAndKeepTheOrderAboveTheLastKnot() {
        let t = calibration.classes[0].table
        XCTAssertEqual(t.apply(2), 21)          // flat below the first knot
        XCTAssertEqual(t.apply(20), 24.5, accuracy: 1e-5)
        XCTAssertEqual(t.apply(50), 38)
        XCTAssertEqual(t.apply(70), 58)         // slope 1 above the last
    }

    func testSupportClassPicksTheTable() {
        // 12 of 12 reads: the well-supported class; 6 of 12: the rest.
        XCTAssertEqual(calibration.qual(raw: 4, altCount: 12, refCount: 0, depth: 12), 21)
        XCTAssertEqual(calibration.qual(raw: 4, altCount: 6, refCount: 6, depth: 12), 5)
        XCTAssertEqual(calibration.qual(raw: 40, altCount: 2, refCount: 0, depth: 2), 12)
        // Through the genotyper: a call with every read on the allele and a low raw QUAL is not LowQual.
        let c = Candidate(allele: Allele(contig: 0, position: 10, ref: Array("CAT".utf8), alt: Array("C".utf8)),
                          depth: 20, refCount: 0, altCount: 20, features: [])
        let p: ArraySlice<Float> = [0.2, 0.1, 0.7]
        XCTAssertEqual(Genotyper.call(c, probabilities: p, ploidy: 1)?.qual ?? 0, 6.99, accuracy: 0.01)
        XCTAssertEqual(Genotyper.call(c, probabilities: p, ploidy: 1, calibration: calibration)?.qual, 21)
    }

    func testShareOverInformativeReadsIgnoresReadsOfNeitherHaplotype() {
        // 30 reads on the allele, none on the reference, 11 that fit neither (DP 41): 0.73 of DP, all of AD.
        var c = calibration
        XCTAssertEqual(c.qual(raw: 4, altCount: 30, refCount: 0, depth: 41), 5)
        c.classes[0].shareOf = .informative
        XCTAssertEqual(c.qual(raw: 4, altCount: 30, refCount: 0, depth: 41), 21)
        // A real reference minority still counts against the allele.
        XCTAssertEqual(c.qual(raw: 4, altCount: 30, refCount: 5, depth: 41), 5)
    }

    func testLoadReadsTheModelFileAndRejectsBadOnes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qualcal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertNil(try QualCalibration.load(directory: dir.path))
        let file = dir.appendingPathComponent(QualCalibration.fileName)
        try Data(#"{"classes": [{"min_reads": 3, "min_share": 0.9, "raw_qual": [10, 30, 50], "qual": [21, 28, 38]}, {"min_reads": 0, "min_share": 0, "raw_qual": [5, 40], "qual": [5, 12]}]}"#.utf8).write(to: file)
        XCTAssertEqual(try QualCalibration.load(directory: dir.path), calibration)
        try Data(#"{"classes": [{"min_reads": 3, "min_share": 0.9, "share_of": "informative", "raw_qual": [10, 30, 50], "qual": [21, 28, 38]}, {"min_reads": 0, "min_share": 0, "raw_qual": [5, 40], "qual": [5, 12]}]}"#.utf8).write(to: file)
        XCTAssertEqual(try QualCalibration.load(directory: dir.path)?.classes.map(\.shareOf), [.informative, .depth])
        try Data(#"{"classes": [{"min_reads": 3, "min_share": 0.9, "share_of": "reads", "raw_qual": [10], "qual": [21]}]}"#.utf8).write(to: file)
        XCTAssertThrowsError(try QualCalibration.load(directory: dir.path))
        // Decreasing calibrated QUAL is not a calibration.
        try Data(#"{"classes": [{"min_reads": 3, "min_share": 0.9, "raw_qual": [10, 30], "qual": [21, 20]}]}"#.utf8).write(to: file)
        XCTAssertThrowsError(try QualCalibration.load(directory: dir.path)) { e in
            XCTAssertTrue("\(e)".contains(QualCalibration.fileName), "\(e)")
        }
        try Data("not json".utf8).write(to: file)
        XCTAssertThrowsError(try QualCalibration.load(directory: dir.path))
    }

    func testShippedModelHasACalibration() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/models/variants")
        let c = try XCTUnwrap(try QualCalibration.load(directory: dir.path))
        // A call with ≥ 10 reads, ≥ 90 % of them on the allele, is never LowQual.
        XCTAssertGreaterThanOrEqual(c.qual(raw: 0, altCount: 10, refCount: 1, depth: 11), 20)
        // Nor is one carried by all of ≥ 10 informative reads, whatever the reads that fit neither haplotype.
        XCTAssertGreaterThanOrEqual(c.qual(raw: 0, altCount: 30, refCount: 0, depth: 41), 20)
    }

    func testCalibrationFittedWithOtherCandidateSettingsIsNotUsed() {
        var c = calibration
        c.settings = ["haplotype_evidence": "all", "realign": "false"]
        var options = CandidateOptions()
        XCTAssertNil(c.mismatch(options))
        options.haplotypeEvidence = .off
        XCTAssertEqual(c.mismatch(options)?.contains("haplotype_evidence=all"), true)
        options.haplotypeEvidence = .all
        options.realign = true
        XCTAssertEqual(c.mismatch(options)?.contains("realign=true"), true)
        XCTAssertNil(calibration.mismatch(options))   // no recorded settings: fits any run
        c.settings["ploidy"] = "1"
        options = CandidateOptions()
        options.ploidy = 2
        XCTAssertEqual(c.mismatch(options)?.contains("ploidy=2"), true)
    }
}
