import MambaModel

/// A trainable tensor: its fp32 master value (the model's own `Tensor`, updated in place), a gradient of the
/// same shape that backward passes accumulate into, and whether decoupled weight decay applies to it.
public final class Parameter {
    public let name: String
    public let value: Tensor
    public let grad: Tensor
    public var decay: Bool

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }

    /// Wraps a model tensor (shared, not copied). `decay` defaults to `Parameter.usesWeightDecay(name:shape:)`.
    public init(name: String, tensor: Tensor, decay: Bool? = nil) {
        self.name = name
        value = tensor
        grad = Tensor(shape: tensor.shape)
        self.decay = decay ?? Parameter.usesWeightDecay(name: name, shape: tensor.shape)
    }

    /// A parameter owning a fresh tensor with these values.
    public convenience init(name: String, shape: [Int], values: [Float], decay: Bool? = nil) {
        self.init(name: name, tensor: Tensor(shape: shape, values: values), decay: decay)
    }

    public var values: [Float] { value.array }
    public var gradients: [Float] {
        get { grad.array }
        set {
            precondition(newValue.count == count)
            newValue.withUnsafeBufferPointer { grad.data.update(from: $0.baseAddress!, count: count) }
        }
    }

    public func zeroGrad() { grad.data.update(repeating: 0, count: count) }

    /// The usual Mamba recipe: no weight decay on `A_log` and `D` (mamba_ssm marks them `_no_weight_decay`),
    /// on biases, or on normalisation weights (any tensor with fewer than two dimensions, or a `norm` in
    /// its name); every matrix (projections, conv kernels, embeddings) decays.
    public static func usesWeightDecay(name: String, shape: [Int]) -> Bool {
        let parts = name.split(separator: ".")
        let leaf = parts.last.map(String.init) ?? name
        if leaf == "A_log" || leaf == "D" || leaf == "bias" { return false }
        if parts.contains(where: { $0.hasPrefix("norm") || $0.hasSuffix("norm") }) { return false }
        return shape.count >= 2
    }
}

/// The distinct parameters of a model, from its named tensors. Tied tensors (one `Tensor` object under
/// several names, like a tied LM head) become ONE parameter under the first name, so every use adds into
/// the same gradient.
public final class ParameterSet {
    public let parameters: [Parameter]
    private let byTensor: [ObjectIdentifier: Parameter]

    public init(_ named: [(String, Tensor)]) {
        var list: [Parameter] = []
        var map: [ObjectIdentifier: Parameter] = [:]
        for (name, t) in named where map[ObjectIdentifier(t)] == nil {
            let p = Parameter(name: name, tensor: t)
            list.append(p)
            map[ObjectIdentifier(t)] = p
        }
        parameters = list
        byTensor = map
    }

    public subscript(name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// Gradient buffer of a model tensor (same shape as the tensor).
    public func grad(_ t: Tensor) -> UnsafeMutablePointer<Float> {
        guard let p = byTensor[ObjectIdentifier(t)] else { preconditionFailure("tensor is not a parameter of this set") }
        return p.grad.data
    }

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }
}
