import Foundation
import XCTest
@testable import DNATasks

final class ReadConfidenceTests: XCTestCase {
    /// Data drawn from a known logistic model: the fit recovers its coefficients (to the sampling error of 20,000
    /// draws, about 0.05 here) and predicts its probabilities.
    func testLogisticFitRecoversKnownCoefficients() {
        var rng = SplitMix(7)
        let w = [1.5, -2.0], b = 0.5
        var x: [[Double]] = [], y: [Bool] = []
        for _ in 0..<20_000 {
            let row = [Double(rng.uniform()) * 4 - 2, Double(rng.uniform()) * 2 - 1]
            let p = 1 / (1 + exp(-(w[0] * row[0] + w[1] * row[1] + b)))
            x.append(row); y.append(Double(rng.uniform()) < p)
        }
        let fit = ReadConfidence.Logistic.fit(x, y, l2: 0)
        XCTAssertEqual(fit.weights[0], w[0], accuracy: 0.15)
        XCTAssertEqual(fit.weights[1], w[1], accuracy: 0.15)
        XCTAssertEqual(fit.bias, b, accuracy: 0.1)
    }

    /// The lowest threshold whose kept reads reach the target precision, then raised to keep the random cap.
    func testThresholdMeetsPrecisionThenTheRandomCap() {
        typealias S = (c: Double, correct: Bool, random: Bool)
        // Best first: 0.9 right, 0.8 right, 0.7 wrong, 0.6 right, 0.5 wrong (random), 0.4 wrong.
        let s: [S] = [(0.9, true, false), (0.8, true, false), (0.7, false, false), (0.6, true, false),
                      (0.5, false, true), (0.4, false, false)]
        // Precision of the top k: 1, 1, 2/3, 3/4, 3/5, 1/2. At 0.75 the lowest qualifying cut is 0.6 (3/4).
        XCTAssertEqual(ConfidenceCalibration.threshold(s, targetPrecision: 0.75, maxRandomKept: 1, randomTotal: 1).threshold, 0.6)
        XCTAssertEqual(ConfidenceCalibration.threshold(s, targetPrecision: 0.9, maxRandomKept: 1, randomTotal: 1).threshold, 0.8)
        // With random reads at 0.95 and 0.5 of 2, none may pass: the threshold goes above 0.95.
        let r: [S] = s + [(0.95, false, true)]
        let t = ConfidenceCalibration.threshold(r, targetPrecision: 0.5, maxRandomKept: 0, randomTotal: 2).threshold
        XCTAssertGreaterThan(t, 0.95)
        // Precision of the top k now: 0, 1/2, 2/3, 2/4, 3/5, 3/6, 3/7: the cut at 0.5 keeps 1/2; one of the two random
        // reads may pass, so the threshold goes just above the second (0.5).
        XCTAssertEqual(ConfidenceCalibration.threshold(r, targetPrecision: 0.5, maxRandomKept: 1, randomTotal: 2).threshold, 0.5)
        XCTAssertEqual(ConfidenceCalibration.threshold(r, targetPrecision: 0.5, maxRandomKept: 0.5, randomTotal: 2).threshold,
                       0.5.nextUp)
    }

    /// Printed confidences keep their order near 1, where 4 decimals would all read 1.0000.
    func testFormatKeepsOrderNearOne() {
        let values = [0.5, 0.99, 0.9999, 0.99999, 0.999999, 0.9999999, 1 - 1e-9]
        let printed = values.map(ReadConfidence.format)
        for (a, b) in zip(printed, printed.dropFirst()) {
            XCTAssertLessThan(Double(a)!, Double(b)!, "\(a) vs \(b)")
        }
        for (v, p) in zip(values, printed) { XCTAssertEqual(Double(p)!, v, accuracy: max(1e-12, (1 - v) * 0.06)) }
    }

    /// A calibration fitted for other model features (a sketch added afterwards) is refused with the file named.
    func testCalibrationMustMatchTheDirectorysParts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("calibration-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = ReadConfidence.Calibration(sketch: nil, model: .init(weights: [1, 0.1], bias: 0), modelFeatures: [],
                                           threshold: 0.5, targetPrecision: 0.99, fittedOn: "test", validation: [:])
        try JSONEncoder().encode(c).write(to: dir.appendingPathComponent(ReadConfidence.fileName))
        XCTAssertEqual(try ReadConfidence.load(directory: dir.path, hasSketch: false, hasProfile: false).calibration, c)
        XCTAssertThrowsError(try ReadConfidence.load(directory: dir.path, hasSketch: true, hasProfile: false)) {
            XCTAssertTrue("\($0)".contains(ReadConfidence.fileName), "\($0)")
        }
        try Data("{\"model\": 3}".utf8).write(to: dir.appendingPathComponent(ReadConfidence.fileName))
        XCTAssertThrowsError(try ReadConfidence.load(directory: dir.path, hasSketch: false, hasProfile: false))
        // No file: the raw score, and every read kept.
        let none = FileManager.default.temporaryDirectory.path
        XCTAssertNil(try ReadConfidence.load(directory: none, hasSketch: true, hasProfile: true).calibration)
        let f = ReadConfidence.modelFeatures(probability: 0.7, sketchHits: 3, profileWordScore: -1, length: 150)
        XCTAssertEqual(ReadConfidence(calibration: nil).confidence(f), 0.7)
        XCTAssertEqual(ReadConfidence(calibration: nil).defaultThreshold, 0)
    }
}
