import Foundation
import MambaKernels
import MambaTrain

/// Mini-batch training of a `VariantModel` with softmax cross-entropy and AdamW, keeping the weights of
/// the epoch with the lowest validation loss (early stopping on a held-out share of the training data).
struct MLPTrainer {
    var epochs = 60
    var batchSize = 256
    var learningRate: Float = 2e-3
    var weightDecay: Float = 1e-4
    var patience = 10
    var seed: UInt64 = 1

    struct Result { var epochs: Int; var validationLoss: Float; var validationAccuracy: Float; var trainLoss: Float }

    /// Trains `model` in place on raw features `x` (rows × features) and labels `y` (0/1/2); the model's
    /// standardisation is set from the training rows.
    func train(_ model: VariantModel, x: [Float], y: [Int], validation: (x: [Float], y: [Int]),
               log: (String) -> Void) -> Result {
        let f = model.featureNames.count
        let rows = y.count
        for j in 0..<f {
            var s = 0.0, s2 = 0.0
            for r in 0..<rows { let v = Double(x[r * f + j]); s += v; s2 += v * v }
            let m = s / Double(max(rows, 1))
            let sd = (max(0, s2 / Double(max(rows, 1)) - m * m)).squareRoot()
            model.mean[j] = Float(m)
            model.scale[j] = sd > 1e-6 ? Float(sd) : 1
        }
        let xs = model.standardise(x)
        let xv = model.standardise(validation.x)
        let params = model.layers.enumerated().flatMap { i, l in
            [Parameter(name: "layers.\(i).weight", tensor: l.weight), Parameter(name: "layers.\(i).bias", tensor: l.bias)]
        }
        let optimizer = AdamW(config: .init(weightDecay: weightDecay))
        var rng = SplitMix(seed)
        var order = Array(0..<rows)
        var best = Result(epochs: 0, validationLoss: .infinity, validationAccuracy: 0, trainLoss: 0)
        var bestWeights = params.map(\.values)
        var sinceBest = 0
        for epoch in 1...max(1, epochs) {
            for i in stride(from: rows - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            var lossSum: Float = 0, batches = 0
            var start = 0
            while start < rows {
                let idx = order[start..<min(rows, start + batchSize)]
                start += batchSize
                var bx = [Float](); bx.reserveCapacity(idx.count * f)
                for r in idx { bx += xs[(r * f)..<(r * f + f)] }
                let by = idx.map { y[$0] }
                params.forEach { $0.zeroGrad() }
                lossSum += step(model, params: params, x: bx, y: by)
                batches += 1
                let lr = learningRate * Float(0.5 * (1 + cos(Double.pi * Double(epoch - 1) / Double(max(1, epochs)))))
                optimizer.step(params, learningRate: lr)
            }
            // Too little data to hold any out: select on the training rows instead.
            let (vl, va) = validation.y.isEmpty ? evaluate(model, x: xs, y: y) : evaluate(model, x: xv, y: validation.y)
            if vl < best.validationLoss {
                best = Result(epochs: epoch, validationLoss: vl, validationAccuracy: va, trainLoss: lossSum / Float(max(batches, 1)))
                bestWeights = params.map(\.values)
                sinceBest = 0
            } else {
                sinceBest += 1
            }
            if epoch == 1 || epoch % 5 == 0 {
                log(String(format: "epoch %d: train loss %.4f, validation loss %.4f, accuracy %.4f", epoch,
                           lossSum / Float(max(batches, 1)), vl, va))
            }
            if sinceBest >= patience { break }
        }
        for (p, w) in zip(params, bestWeights) { w.withUnsafeBufferPointer { p.value.data.update(from: $0.baseAddress!, count: p.count) } }
        return best
    }

    /// Forward and backward of one batch; gradients accumulate into `params`. Returns the mean loss.
    private func step(_ model: VariantModel, params: [Parameter], x: [Float], y: [Int]) -> Float {
        let rows = y.count
        let acts = model.forward(x, rows: rows)
        var dy = [Float](repeating: 0, count: rows * 3)
        let loss = acts.last!.withUnsafeBufferPointer { lb in
            y.withUnsafeBufferPointer { yb in
                dy.withUnsafeMutableBufferPointer { db in
                    CrossEntropy.lossAndGradient(logits: lb.baseAddress!, rows: rows, classes: 3,
                                                 targets: yb.baseAddress!, dLogits: db.baseAddress!)
                }
            }
        }
        for i in stride(from: model.layers.count - 1, through: 0, by: -1) {
            let input = i == 0 ? x : acts[i - 1]
            let (inF, outF) = (model.widths[i], model.widths[i + 1])
            var dx = [Float](repeating: 0, count: i == 0 ? 0 : rows * inF)
            input.withUnsafeBufferPointer { xb in
                dy.withUnsafeBufferPointer { gb in
                    dx.withUnsafeMutableBufferPointer { dxb in
                        LinearBackward.backward(x: xb.baseAddress!, rows: rows, inFeatures: inF,
                                                weight: model.layers[i].weight.ptr, outFeatures: outF,
                                                dy: gb.baseAddress!, dx: i == 0 ? nil : dxb.baseAddress!,
                                                dWeight: params[2 * i].grad.data, dBias: params[2 * i + 1].grad.data)
                    }
                }
            }
            if i > 0 {
                let a = acts[i - 1]
                for k in 0..<dx.count where a[k] <= 0 { dx[k] = 0 }   // ReLU
                dy = dx
            }
        }
        return loss
    }

    /// Mean cross-entropy and accuracy on standardised rows.
    func evaluate(_ model: VariantModel, x: [Float], y: [Int]) -> (Float, Float) {
        guard !y.isEmpty else { return (0, 0) }
        let logits = model.forward(x, rows: y.count).last!
        let loss = logits.withUnsafeBufferPointer { lb in
            y.withUnsafeBufferPointer { CrossEntropy.forward(logits: lb.baseAddress!, rows: y.count, classes: 3, targets: $0.baseAddress!) }
        }
        var correct = 0
        for r in 0..<y.count {
            let row = logits[(3 * r)..<(3 * r + 3)]
            if row.firstIndex(of: row.max()!)! - 3 * r == y[r] { correct += 1 }
        }
        return (loss, Float(correct) / Float(y.count))
    }
}
