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
    /// Whether the tensor is sparse: its dense gradient (`shape` sized) can be asked for on
    /// mask-update steps.
    public var isSparse: Bool

    public init(name: String, shape: [Int], count: Int? = nil, decays: Bool, isSparse: Bool = false) {
        self.name = name
        self.shape = shape
        self.count = count ?? shape.reduce(1, *)
        self.decays = decays
        self.isSparse = isSparse
    }

    /// Values of the dense shape.
    public var denseCount: Int { shape.reduce(1, *) }
}

/// One parameter tensor's place in a store, and so in any buffer laid out like it.
public struct ParameterSlot {
    public unowned let store: ParameterStore
    public let index: Int

    public var count: Int { store.specs[index].count }
    var values: UnsafeMutablePointer<Float> { store.values + store.offsets[index] }
    /// The tensor's gradients in `buffers`.
    public func gradients(in buffers: GradientBuffers) -> UnsafeMutablePointer<Float> {
        buffers.gradients + store.offsets[index]
    }
    /// The dense gradient of a sparse tensor in `buffers`, when they carry dense gradients.
    public func denseGradients(in buffers: GradientBuffers) -> UnsafeMutablePointer<Float>? {
        buffers.denseGradients.map { $0 + store.denseOffsets[index] }
    }
}

/// Every trainable value of a model in one flat buffer, tensor after tensor in
/// declaration order.
///
/// The flat layout is what makes the per-step communication one fused in-place all-reduce
/// with no packing copy (docs/ARCHITECTURE.md), and lets the optimizer run one loop over all
/// values: a gradient buffer is laid out the same way (`GradientBuffers`), and so is a
/// dense-gradient buffer over the sparse tensors' dense shapes (`denseOffsets`,
/// `denseCount`). The store holds no gradients: whoever runs a backward pass owns them.
///
/// Optimizer state laid out like the values (momentum) lives here too (`addState`), so
/// that a mask change moves it with the values (`remap`), and a pruning step that shrinks
/// a tensor (`resize`) shrinks it too. `layoutVersion` counts layout changes, for holders
/// of buffers sized like the store.
public final class ParameterStore {
    public private(set) var specs: [ParameterSpec]
    public private(set) var offsets: [Int]
    /// The number of parameter values.
    public private(set) var count: Int
    /// Internal to SprigLayers: outside it, `ParameterStore+Mutation.swift`'s calls.
    private(set) var values: UnsafeMutablePointer<Float>
    /// Offsets of each sparse tensor's dense gradient in a dense-gradient buffer (0 for
    /// dense tensors), and that buffer's length.
    public let denseOffsets: [Int]
    public let denseCount: Int
    /// Buffers laid out like `values` (optimizer state).
    private(set) var states: [UnsafeMutablePointer<Float>] = []
    /// Incremented by every `resize`.
    public private(set) var layoutVersion = 0

    public init(specs: [ParameterSpec]) {
        self.specs = specs
        let (offsets, total) = ParameterStore.layout(specs)
        self.offsets = offsets
        count = total
        var denseOffsets: [Int] = []
        var denseTotal = 0
        for spec in specs {
            denseOffsets.append(denseTotal)
            if spec.isSparse { denseTotal += spec.denseCount }
        }
        self.denseOffsets = denseOffsets
        denseCount = denseTotal
        values = .allocate(capacity: max(total, 1))
        values.initialize(repeating: 0, count: max(total, 1))
    }

    deinit {
        values.deallocate()
        for state in states { state.deallocate() }
    }

    private static func layout(_ specs: [ParameterSpec]) -> (offsets: [Int], total: Int) {
        var offsets: [Int] = []
        var total = 0
        for spec in specs {
            offsets.append(total)
            total += spec.count
        }
        return (offsets, total)
    }

    public func slot(_ index: Int) -> ParameterSlot { ParameterSlot(store: self, index: index) }

    /// Adds a zeroed buffer laid out like `values` (optimizer state) and returns its
    /// index in `states`. Its address changes when the layout does.
    public func addState() -> Int {
        let b = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        b.initialize(repeating: 0, count: max(count, 1))
        states.append(b)
        return states.count - 1
    }

    /// Rearranges tensor `index` after a change of its sparsity pattern of the same size:
    /// new position p takes the value of old position `source[p]`, or zero where
    /// `source[p]` is nil (a new connection), in the values and in every state buffer.
    public func remap(_ index: Int, source: [Int?]) {
        precondition(source.count == specs[index].count, "remap keeps the tensor's size; use resize")
        var scratch = [Float](repeating: 0, count: source.count)
        for buffer in [values] + states {
            let base = buffer + offsets[index]
            for (p, s) in source.enumerated() { scratch[p] = s.map { base[$0] } ?? 0 }
            base.update(from: scratch, count: scratch.count)
        }
    }

    /// Gives tensor `index` `source.count` values: new position p takes old position
    /// `source[p]`'s value and state (zero where nil). Every buffer is reallocated, so
    /// pointers into the store must be taken again, and holders of buffers laid out like
    /// the store see `layoutVersion` change. Dense gradients keep their layout (it does not
    /// depend on active counts).
    public func resize(_ index: Int, source: [Int?]) {
        var newSpecs = specs
        newSpecs[index].count = source.count
        let (newOffsets, newCount) = ParameterStore.layout(newSpecs)
        func moved(_ old: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
            let b = UnsafeMutablePointer<Float>.allocate(capacity: max(newCount, 1))
            b.initialize(repeating: 0, count: max(newCount, 1))
            for t in specs.indices where t != index {
                (b + newOffsets[t]).update(from: old + offsets[t], count: specs[t].count)
            }
            for (p, s) in source.enumerated() { b[newOffsets[index] + p] = s.map { old[offsets[index] + $0] } ?? 0 }
            old.deallocate()
            return b
        }
        values = moved(values)
        states = states.map(moved)
        specs = newSpecs
        offsets = newOffsets
        count = newCount
        layoutVersion += 1
    }

    /// The values of tensor `index` as an array.
    public func valuesArray(_ index: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: values + offsets[index], count: specs[index].count))
    }

    /// Bytes held by the values.
    public var bytes: Int { count * MemoryLayout<Float>.stride }
}
