import Foundation
import MambaModel

// The training-only parts of the classifier types that `MambaModel` runs: fresh weights and backward passes.

extension EncoderArchitecture {
    /// Fresh weights of this architecture for the DNA tokenizer's vocabulary (`MambaInit`).
    public func randomModel(_ mixer: MixerConfig, layers: Int, seed: UInt64) throws -> any SequenceModel {
        switch self {
        case .mamba:
            let c = MambaLMConfig(layout: .mambaSSM, nLayer: layers, vocabSize: DNATokenizer.vocabularySize, mixer: mixer)
            return try MambaInit.randomLM(config: c, seed: seed)
        case .caduceusPS, .caduceusPH:
            var c = CaduceusConfig(nLayer: layers, vocabSize: DNATokenizer.vocabularySize, mixer: mixer)
            c.rcps = self == .caduceusPS
            c.complementMap = DNATokenizer.complementMap.map(Int.init)
            return try MambaInit.randomCaduceus(config: c, seed: seed)
        }
    }
}

extension SequenceClassifier {
    /// A fresh head (U(±1/√d), PyTorch's Linear default) on `encoder`.
    public convenience init(encoder: ClassifierEncoder, labels: [String], seed: UInt64, rcAverage: Bool = true,
                            pooling: ClassifierPooling = .mean) {
        var rng = RandomSource(seed: seed)
        let d = encoder.dModel, bound = 1 / Float(d).squareRoot()
        var w = [Float](repeating: 0, count: labels.count * d)
        rng.fillUniform(&w, low: -bound, high: bound)
        self.init(encoder: encoder, head: Tensor(shape: [labels.count, d], values: w),
                  headBias: Tensor(shape: [labels.count]), labels: labels, rcAverage: rcAverage, pooling: pooling)
    }

    public convenience init(encoder: MambaLMModel, labels: [String], seed: UInt64, rcAverage: Bool = true,
                            pooling: ClassifierPooling = .mean) {
        self.init(encoder: .mamba(encoder), labels: labels, seed: seed, rcAverage: rcAverage, pooling: pooling)
    }
}

extension ClassifierPooling {
    /// dz[t, c] = dy[c] · ∂y[c]/∂z[t, c] (overwritten), given the forward's z and y: 1/rows for `.mean`;
    /// 1 at the first position of the maximum, else 0, for `.max`; exp(z[t,c] − y[c]) / rows (the softmax
    /// over positions) for `.logsumexp`.
    public func backward(z: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int,
                         classes C: Int, dz: UnsafeMutablePointer<Float>) {
        let inv = 1 / Float(rows)
        for c in 0..<C {
            switch self {
            case .mean:
                for t in 0..<rows { dz[t * C + c] = dy[c] * inv }
            case .max:
                var best = 0
                for t in 1..<Swift.max(rows, 1) where z[t * C + c] > z[best * C + c] { best = t }
                for t in 0..<rows { dz[t * C + c] = t == best ? dy[c] : 0 }
            case .logsumexp:
                for t in 0..<rows { dz[t * C + c] = dy[c] * Foundation.exp(z[t * C + c] - y[c]) * inv }
            }
        }
    }
}

extension ClassifierEncoder {
    /// The backward of `mergeStrands`: dh[t, c] = dh[t, 2d−1−c] = ½ de[t, c] (overwritten).
    package static func mergeStrandsBackward(_ de: UnsafePointer<Float>, rows T: Int, dim d: Int,
                                     into dh: UnsafeMutablePointer<Float>) {
        for t in 0..<T {
            let g = de + t * d, row = dh + t * 2 * d
            for c in 0..<d { row[c] = 0.5 * g[c]; row[2 * d - 1 - c] = 0.5 * g[c] }
        }
    }
}
