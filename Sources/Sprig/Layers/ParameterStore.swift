/// What a layer declares about one of its parameter tensors.
public struct ParameterSpec: Equatable {
    /// The tensor's name in exports and reports, e.g. `fc1.weight`.
    public var name: String
    /// The tensor's dense shape (out x in for a linear weight).
    public var shape: [Int]
    /// How many values the store holds for it: the dense size, or the active count of a
    /// sparse tensor.
    public var count: Int
    /// Whether weight decay applies (weights yes, biases no).
    public var decays: Bool

    public init(name: String, shape: [Int], count: Int? = nil, decays: Bool) {
        self.name = name
        self.shape = shape
        self.count = count ?? shape.reduce(1, *)
        self.decays = decays
    }
}

/// One parameter tensor's place in a store. Its gradient pointer follows the store's
/// current gradient buffer (see `ParameterStore.redirectGradients`).
public struct ParameterSlot {
    public unowned let store: ParameterStore
    public let index: Int

    public var count: Int { store.specs[index].count }
    public var values: UnsafeMutablePointer<Float> { store.values + store.offsets[index] }
    public var gradients: UnsafeMutablePointer<Float> { store.gradients + store.offsets[index] }
}

/// Every trainable value of a model in one flat buffer, and its gradient in another of
/// the same layout, tensor after tensor in declaration order.
///
/// The flat layout is what makes the per-step communication one fused in-place all-reduce
/// with no packing copy (DESIGN.md, "The shape of a step"), and lets the optimizer run one
/// loop over all values. A gradient buffer holds `gradientLength = count + auxiliaryCount`
/// floats: the extra slots carry per-step sums (the loss) in the same all-reduce.
///
/// Layers write gradients into whatever buffer `gradients` points at; the training step
/// redirects it to accumulate micro-batches (`GradientTree`).
public final class ParameterStore {
    public let specs: [ParameterSpec]
    public let offsets: [Int]
    /// The number of parameter values.
    public let count: Int
    public let auxiliaryCount: Int
    public let values: UnsafeMutablePointer<Float>
    /// The buffer backward passes write into now: the store's own, or a redirected one.
    public private(set) var gradients: UnsafeMutablePointer<Float>
    private let ownGradients: UnsafeMutablePointer<Float>

    public init(specs: [ParameterSpec], auxiliaryCount: Int = 0) {
        self.specs = specs
        var offsets: [Int] = []
        var total = 0
        for spec in specs {
            offsets.append(total)
            total += spec.count
        }
        self.offsets = offsets
        count = total
        self.auxiliaryCount = auxiliaryCount
        values = .allocate(capacity: max(total, 1))
        values.initialize(repeating: 0, count: max(total, 1))
        ownGradients = .allocate(capacity: max(total + auxiliaryCount, 1))
        ownGradients.initialize(repeating: 0, count: max(total + auxiliaryCount, 1))
        gradients = ownGradients
    }

    deinit {
        values.deallocate()
        ownGradients.deallocate()
    }

    /// Floats in one gradient buffer: the gradients, then the auxiliary slots.
    public var gradientLength: Int { count + auxiliaryCount }

    public func slot(_ index: Int) -> ParameterSlot { ParameterSlot(store: self, index: index) }

    /// Points `gradients` at `buffer` (of `gradientLength` floats), or back at the store's
    /// own buffer when nil.
    public func redirectGradients(to buffer: UnsafeMutablePointer<Float>?) {
        gradients = buffer ?? ownGradients
    }

    /// The auxiliary slots of the current gradient buffer.
    public var auxiliary: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: gradients + count, count: auxiliaryCount)
    }

    /// The values of tensor `index` as an array.
    public func valuesArray(_ index: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: values + offsets[index], count: specs[index].count))
    }

    /// Bytes held by values and one gradient buffer.
    public var bytes: Int { (count + gradientLength) * MemoryLayout<Float>.stride }
}
