/// An owned, shape-tagged fp32 buffer. Layers hold their weights in these so forward passes can
/// hand raw pointers to the kernels without copy-on-write or closure nesting.
/// Reference type: copying a layer struct shares its weights.
public final class Tensor {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>

    public init(shape: [Int], repeating value: Float = 0) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = .allocate(capacity: max(count, 1))
        data.initialize(repeating: value, count: max(count, 1))
    }

    public convenience init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "Tensor: \(values.count) values for shape \(shape)")
        self.init(shape: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { data.deallocate() }

    public var ptr: UnsafePointer<Float> { UnsafePointer(data) }
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    public func copy() -> Tensor {
        let t = Tensor(shape: shape)
        t.data.update(from: data, count: count)
        return t
    }
}

/// Growable scratch memory for activations. `reserve` keeps the old allocation when it is big enough,
/// so a workspace reused across chunks allocates once.
public final class Scratch {
    public private(set) var capacity = 0
    public private(set) var data: UnsafeMutablePointer<Float>

    public init(_ capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        data = .allocate(capacity: self.capacity)
        data.initialize(repeating: 0, count: self.capacity)
    }

    deinit { data.deallocate() }

    /// Pointer to at least `count` floats; contents are undefined after growth.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            data.deallocate()
            capacity = count
            data = .allocate(capacity: count)
            data.initialize(repeating: 0, count: count)
        }
        return data
    }

    public var ptr: UnsafeMutablePointer<Float> { data }
}
