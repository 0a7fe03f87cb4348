import FileOutput
import Foundation
import MambaModel

/// `train --task calibrate`: fits a classifier directory's read confidence (`ReadConfidence`) on labelled
/// validation reads plus random DNA, and writes a copy of the directory with `calibration.json`.
///
/// Every read goes through what `classify` runs (screen, k-mer sketch, model with the k-mer profile); for each path
/// that decides reads, a logistic model predicts whether the label is right from that path's features (a random
/// read is never right). The default threshold is the lowest confidence at which the reads kept (labelled and
/// random together, best first) are at least `targetPrecision` right, raised if needed so that at most
/// `maxRandomKept` of the random reads are kept.
public enum ConfidenceCalibration {
    public struct Options {
        public var inputs: [String]
        public var initFrom: String?
        public var output: String
        public var labelKey = "label"
        public var labelsFile: String?
        public var reference: String?
        public var force = false
        public var threads = 1
        /// Random reads (uniform A/C/G/T, lengths drawn from the labelled reads'); nil: a quarter of the labelled
        /// reads, at least 1,000.
        public var randomReads: Int?
        public var targetPrecision = 0.99
        public var maxRandomKept = 0.05
        public var seed: UInt64 = 1
        public init(inputs: [String], output: String) { self.inputs = inputs; self.output = output }

        public var problem: String? {
            if !(targetPrecision > 0 && targetPrecision < 1) { return "--target-precision must be between 0 and 1 (exclusive)" }
            if !(maxRandomKept >= 0 && maxRandomKept <= 1) { return "--max-random-kept must be between 0 and 1" }
            if let n = randomReads, n < 0 { return "--random-reads must be at least 0" }
            return nil
        }
    }

    /// One scored validation read.
    struct Sample {
        var features: ReadConfidence.Features
        var correct: Bool
        var random: Bool
    }

    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void = { _ in }) throws -> ReadConfidence.Calibration {
        if let p = o.problem { throw ToolError(p) }
        let (dir, labels, out) = try ClassifierAddOn.prepare(initFrom: o.initFrom, task: "calibrate", inputs: o.inputs,
                                                             output: o.output, force: o.force)
        let model = try ClassifierDirectory.load(dir)
        let sketch = try KmerSketch.load(directory: dir)
        let profile = try KmerProfile.load(directory: dir)
        let weight = profile?.parameters.weight ?? 0
        let scorer = ReadScorer(model: model, predictor: ClassifierPredictor(model: model, threads: o.threads, batchTokens: 8192),
                                sketch: sketch, profile: weight > 0 ? profile : nil, profileWeight: weight,
                                screen: ReadScreen(), confidence: ReadConfidence(calibration: nil), threads: o.threads)
        var samples: [Sample] = [], lengths: [Int] = []
        var labelled = 0, screenedOut = 0
        var batch: [[UInt8]] = [], truth: [Int] = []
        func flush(random: Bool) {
            guard !batch.isEmpty else { return }
            for (r, t) in zip(scorer.score(bases: batch, tokens: batch.map { DNATokenizer.encode($0) }), truth) {
                guard let f = r.features else { screenedOut += random ? 0 : 1; continue }
                samples.append(Sample(features: f, correct: !random && r.label == t, random: random))
            }
            batch.removeAll(keepingCapacity: true); truth.removeAll(keepingCapacity: true)
        }
        try ClassifierAddOn.forEachRead(inputs: o.inputs, labelKey: o.labelKey, labelsFile: o.labelsFile,
                                        reference: o.reference, labels: labels) { bases, c in
            batch.append(bases); truth.append(c); lengths.append(bases.count); labelled += 1
            if batch.count == 4096 { flush(random: false) }
        }
        flush(random: false)
        guard labelled > 0 else { throw ToolError("no labelled reads in \(o.inputs.joined(separator: ", "))") }
        let randomCount = o.randomReads ?? max(1000, labelled / 4)
        var rng = SplitMix(o.seed)
        for _ in 0..<randomCount {
            let n = lengths[Int(rng.next() % UInt64(lengths.count))]
            batch.append((0..<n).map { _ in Array("ACGT".utf8)[Int(rng.next() >> 62)] }); truth.append(-1)
            if batch.count == 4096 { flush(random: true) }
        }
        flush(random: true)
        log("scored \(labelled) labelled reads (\(screenedOut) left out by the screen) and \(randomCount) random reads")

        let modelFeatures = ReadConfidence.modelFeatureNames(hasSketch: sketch != nil, hasProfile: weight > 0)
        let bySketch = samples.filter { $0.features.path == .sketch }, byModel = samples.filter { $0.features.path == .model }
        guard !byModel.isEmpty || !bySketch.isEmpty else { throw ToolError("every read was left out by the screen") }
        func fit(_ s: [Sample]) -> ReadConfidence.Logistic? {
            // Both outcomes are needed for a logistic fit; a path that is always right (or wrong) gets none.
            guard s.contains(where: \.correct), s.contains(where: { !$0.correct }) else { return nil }
            return .fit(s.map(\.features.values), s.map(\.correct))
        }
        let modelWidth = modelFeatures.count + 2
        var calibration = ReadConfidence.Calibration(
            sketch: sketch == nil ? nil : (fit(bySketch) ?? constant(bySketch, width: 3)),
            model: fit(byModel) ?? constant(byModel, width: modelWidth), modelFeatures: modelFeatures, threshold: 0,
            targetPrecision: o.targetPrecision,
            fittedOn: "\(labelled) labelled reads of \(o.inputs.joined(separator: ", ")) (\(labels.count) classes) and "
                + "\(randomCount) random reads (seed \(o.seed))",
            validation: [:])
        let confidence = ReadConfidence(calibration: calibration)
        let scored = samples.map { (c: confidence.confidence($0.features), correct: $0.correct, random: $0.random) }
        let choice = threshold(scored, targetPrecision: o.targetPrecision, maxRandomKept: o.maxRandomKept,
                               randomTotal: randomCount)
        calibration.threshold = choice.threshold
        let keptLabelled = scored.filter { !$0.random && $0.c >= choice.threshold }
        let keptRandom = scored.filter { $0.random && $0.c >= choice.threshold }.count
        calibration.validation = [
            "precision": Double(keptLabelled.filter(\.correct).count) / Double(max(keptLabelled.count + keptRandom, 1)),
            "labelled_kept": Double(keptLabelled.count) / Double(labelled),
            "random_kept": Double(keptRandom) / Double(max(randomCount, 1)),
            "accuracy_all_labelled": Double(scored.filter(\.correct).count) / Double(labelled),
        ]
        let data = try JSONEncoder.sortedPretty.encode(calibration) + Data("\n".utf8)
        _ = try ClassifierAddOn.write(out, copying: dir, fileName: ReadConfidence.fileName,
                                      save: { try writeAtomically(data, to: $0) },
                                      verify: { try ReadConfidence.load(directory: $0, hasSketch: sketch != nil,
                                                                        hasProfile: weight > 0).calibration == calibration })
        log(String(format: "threshold %.6g: precision %.4f, %.4f of the labelled reads kept, %.4f of the random reads",
                   calibration.threshold, calibration.validation["precision"]!, calibration.validation["labelled_kept"]!,
                   calibration.validation["random_kept"]!))
        return calibration
    }

    /// A path with a single outcome: a constant confidence (its share right), no weights.
    static func constant(_ s: [Sample], width: Int) -> ReadConfidence.Logistic {
        let p = min(max(Double(s.filter(\.correct).count) / Double(max(s.count, 1)), 1e-6), 1 - 1e-6)
        return ReadConfidence.Logistic(weights: [Double](repeating: 0, count: width), bias: log(p / (1 - p)))
    }

    /// The lowest confidence at which the reads kept, best first, are at least `targetPrecision` right, raised so
    /// that at most `maxRandomKept` of the random reads (of `randomTotal`) stay above it.
    static func threshold(_ scored: [(c: Double, correct: Bool, random: Bool)], targetPrecision: Double,
                          maxRandomKept: Double, randomTotal: Int) -> (threshold: Double, precision: Double) {
        let order = scored.sorted { $0.c > $1.c }
        var right = 0, best: Double = order.first.map { nextUp($0.c) } ?? 1, bestPrecision = 1.0
        for (i, s) in order.enumerated() {
            if s.correct { right += 1 }
            // Only between distinct confidences: a threshold keeps every read at or above it.
            if i + 1 < order.count && order[i + 1].c == s.c { continue }
            let p = Double(right) / Double(i + 1)
            if p >= targetPrecision { best = s.c; bestPrecision = p }
        }
        let randoms = order.filter(\.random).map(\.c)
        let allowed = Int((maxRandomKept * Double(randomTotal)).rounded(.down))
        if allowed < randoms.count {
            // Keep at most `allowed` random reads: the threshold must be above the (allowed+1)-th best of them.
            best = max(best, nextUp(randoms[allowed]))
        }
        return (min(best, 1), bestPrecision)
    }

    static func nextUp(_ x: Double) -> Double { x.nextUp }
}

extension JSONEncoder {
    static var sortedPretty: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}
