import MambaModel

/// AdamW whose moments and step count can be saved and restored (for `--resume`). Same update as `AdamW`
/// (it calls `AdamW.update`); the moments are kept per parameter, in the parameter list's order.
public final class ResumableAdamW {
    public let config: AdamW.Config
    public private(set) var stepCount = 0
    public private(set) var m: [Tensor] = []
    public private(set) var v: [Tensor] = []

    public init(config: AdamW.Config) { self.config = config }

    public func step(_ parameters: [Parameter], learningRate: Float) {
        if m.isEmpty {
            m = parameters.map { Tensor(shape: $0.shape) }
            v = parameters.map { Tensor(shape: $0.shape) }
        }
        precondition(m.count == parameters.count, "parameter list changed between steps")
        stepCount += 1
        for (i, p) in parameters.enumerated() {
            AdamW.update(value: p.value.data, grad: p.grad.ptr, m: m[i].data, v: v[i].data, count: p.count,
                         decay: p.decay, learningRate: learningRate, step: stepCount, config: config)
        }
    }

    /// The state as named tensors: `m.<name>`, `v.<name>` (empty before the first step).
    public func stateTensors(names: [String]) -> [(String, Tensor)] {
        guard !m.isEmpty else { return [] }
        return zip(names, m).map { ("m." + $0.0, $0.1) } + zip(names, v).map { ("v." + $0.0, $0.1) }
    }

    /// Restores what `stateTensors` saved, for `parameters` (same names and shapes).
    public func restore(step: Int, from file: any TensorFile, parameters: [Parameter]) throws {
        stepCount = step
        guard step > 0 else { m = []; v = []; return }
        let store = try WeightStore(file: file)
        m = try parameters.map { try store.tensor("m." + $0.name, shape: $0.shape) }
        v = try parameters.map { try store.tensor("v." + $0.name, shape: $0.shape) }
    }
}
