import Foundation
import MambaModel

/// A small feed-forward classifier on feature rows (the variant genotyper): linear layers with ReLU between
/// them, logits out. `DenseHeadTrainer` trains its `layers` in place.
public protocol DenseHead: AnyObject {
    /// Widths from input to output: [features, hidden…, classes].
    var widths: [Int] { get }
    /// (weight (out, in), bias (out)) per layer.
    var layers: [(weight: Tensor, bias: Tensor)] { get }
    /// The activations of every layer for `rows` input rows (ReLU applied on all but the last, the logits).
    func forward(_ x: [Float], rows: Int) -> [[Float]]
}

/// Mini-batch training of a `DenseHead` with softmax cross-entropy through `TrainingLoop`: one epoch = every row
/// once in an order reshuffled each epoch, AdamW, a cosine learning rate over the epochs, validation after each
/// epoch with early stopping, and the weights of the epoch with the lowest validation loss kept.
public struct DenseHeadTrainer {
    public var epochs = 60
    public var batchSize = 256
    public var learningRate: Float = 2e-3
    public var weightDecay: Float = 1e-4
    /// Epochs without a lower validation loss before stopping.
    public var patience = 10
    public var seed: UInt64 = 1
    public init() {}

    /// Optimiser steps in one epoch over `rows` rows (the last batch may be short).
    public func stepsPerEpoch(rows: Int) -> Int { (rows + max(1, batchSize) - 1) / max(1, batchSize) }

    public struct Result: Sendable {
        /// The epoch whose weights were kept (1-based).
        public var epochs: Int
        public var validationLoss: Float
        public var validationAccuracy: Float
    }

    /// Trains `model` in place on rows `x` (rows × features, already standardised) with labels `y` in
    /// 0..<classes; `validation` rows pick the epoch (the training rows do when there are none).
    public func train(_ model: some DenseHead, x: [Float], y: [Int], validation: (x: [Float], y: [Int]),
                      log: (TrainingEvent) -> Void) throws -> Result {
        precondition(!y.isEmpty, "no training rows")
        let objective = DenseHeadObjective(model: model, x: x, y: y, validation: validation.y.isEmpty ? (x, y) : validation)
        var options = ClassifierTrainingOptions()
        options.batchTokens = batchSize
        options.maxLength = 1
        options.epochs = Double(max(1, epochs))
        options.learningRate = learningRate
        options.weightDecay = weightDecay
        options.warmupSteps = 0
        options.clipNorm = .infinity
        options.seed = seed
        options.threads = 1
        options.shards = 1
        options.patience = patience
        options.logEvery = Int.max
        let perEpoch = stepsPerEpoch(rows: y.count)
        options.evalEvery = perEpoch
        let loop = TrainingLoop(parameters: objective.parameters, lengths: Array(repeating: 1, count: y.count),
                                validates: true, options: options, order: .reshuffled)
        loop.epochCosine = true
        loop.minImprovement = 0
        let summary = try loop.run(objective, log)
        guard let best = summary.best else { return Result(epochs: 0, validationLoss: .nan, validationAccuracy: .nan) }
        return Result(epochs: summary.bestStep / perEpoch, validationLoss: Float(best.loss),
                      validationAccuracy: Float(best.accuracy))
    }
}

/// `TrainingLoop`'s view of a dense head: batches of feature rows, the loss and gradients of a batch (one shard),
/// validation on held-out rows, and the best weights kept in memory.
final class DenseHeadObjective<Model: DenseHead>: TrainingObjective {
    let model: Model
    let x: [Float], y: [Int]
    let validation: (x: [Float], y: [Int])
    let features: Int, classes: Int
    let parameters: [(String, Tensor)]
    private var best: [[Float]]?

    init(model: Model, x: [Float], y: [Int], validation: (x: [Float], y: [Int])) {
        self.model = model; self.x = x; self.y = y; self.validation = validation
        features = model.widths.first!; classes = model.widths.last!
        parameters = model.layers.enumerated().flatMap { i, l in
            [("layers.\(i).weight", l.weight), ("layers.\(i).bias", l.bias)]
        }
    }

    func makeTape() {}

    func batch(_ indices: [Int], step: Int) -> (batch: (x: [Float], y: [Int]), lengths: [Int], trains: Bool) {
        var bx = [Float](); bx.reserveCapacity(indices.count * features)
        for r in indices { bx += x[(r * features)..<(r * features + features)] }
        return ((bx, indices.map { y[$0] }), Array(repeating: 1, count: indices.count), true)
    }

    /// Forward and backward of the batch; gradients accumulate into `grads`. The batch is always one shard.
    func lossAndGradients(_ batch: (x: [Float], y: [Int]), sequences: Range<Int>, grads: ParameterSet, tape: Void) -> ShardLoss {
        let rows = batch.y.count, layers = model.layers, widths = model.widths
        let acts = model.forward(batch.x, rows: rows)
        var dy = [Float](repeating: 0, count: rows * classes)
        let loss = acts.last!.withUnsafeBufferPointer { lb in
            batch.y.withUnsafeBufferPointer { yb in
                dy.withUnsafeMutableBufferPointer { db in
                    CrossEntropy.lossAndGradient(logits: lb.baseAddress!, rows: rows, classes: classes,
                                                 targets: yb.baseAddress!, dLogits: db.baseAddress!)
                }
            }
        }
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let input = i == 0 ? batch.x : acts[i - 1]
            let (inF, outF) = (widths[i], widths[i + 1])
            var dx = [Float](repeating: 0, count: i == 0 ? 0 : rows * inF)
            input.withUnsafeBufferPointer { xb in
                dy.withUnsafeBufferPointer { gb in
                    dx.withUnsafeMutableBufferPointer { dxb in
                        LinearBackward.backward(x: xb.baseAddress!, rows: rows, inFeatures: inF,
                                                weight: layers[i].weight.ptr, outFeatures: outF,
                                                dy: gb.baseAddress!, dx: i == 0 ? nil : dxb.baseAddress!,
                                                dWeight: grads.grad(layers[i].weight), dBias: grads.grad(layers[i].bias))
                    }
                }
            }
            if i > 0 {
                let a = acts[i - 1]
                for k in 0..<dx.count where a[k] <= 0 { dx[k] = 0 }   // ReLU
                dy = dx
            }
        }
        return ShardLoss(loss: loss, correct: 0)
    }

    var reportsAccuracy: Bool { false }

    /// Mean cross-entropy and accuracy on the validation rows.
    func validate(tapes: [Void]) -> ValidationResult {
        let (vx, vy) = validation, n = vy.count
        let logits = model.forward(vx, rows: n).last!
        let loss = logits.withUnsafeBufferPointer { lb in
            vy.withUnsafeBufferPointer {
                CrossEntropy.forward(logits: lb.baseAddress!, rows: n, classes: classes, targets: $0.baseAddress!)
            }
        }
        var correct = 0
        for r in 0..<n {
            let row = logits[(classes * r)..<(classes * r + classes)]
            if row.firstIndex(of: row.max()!)! - classes * r == vy[r] { correct += 1 }
        }
        return ValidationResult(count: n, loss: Double(loss), accuracy: Double(Float(correct) / Float(n)), recall: [])
    }

    func keepBest() throws { best = parameters.map(\.1.array) }

    func restoreBest() {
        guard let best else { return }
        for ((_, t), w) in zip(parameters, best) {
            w.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: t.count) }
        }
    }

    var fingerprint: String {
        var f = Fingerprint()
        f.add(y.count, features, classes)
        for label in y { f.add(label) }
        return f.text
    }

    /// `model.safetensors` (the current weights) and `best.safetensors` (the best so far, once there is one).
    func writeWeights(to directory: URL) throws {
        func write(_ values: [[Float]], _ name: String) throws {
            let tensors = zip(parameters, values).map { p, v in
                (name: p.0, value: SafetensorsValue.f32(Tensor(shape: p.1.shape, values: v)))
            }
            try Safetensors.write(tensors, to: directory.appendingPathComponent(name).path)
        }
        try write(parameters.map(\.1.array), "model.safetensors")
        if let best { try write(best, "best.safetensors") }
    }

    func readWeights(from directory: String) throws {
        func read(_ name: String) throws -> [[Float]] {
            let store = try WeightStore(file: SafetensorsFile(path: (directory as NSString).appendingPathComponent(name)))
            return try parameters.map { try store.tensor($0.0, shape: $0.1.shape).array }
        }
        for ((_, t), w) in zip(parameters, try read("model.safetensors")) {
            w.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: t.count) }
        }
        best = FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("best.safetensors"))
            ? try read("best.safetensors") : nil
    }
}
