import SprigTensor
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

/// One parameter tensor's place in a store. Its gradient pointer follows the store's
/// current gradient buffer (see `ParameterStore.redirectGradients`).
public struct ParameterSlot {
    public unowned let store: ParameterStore
    public let index: Int

    public var count: Int { store.specs[index].count }
    public var values: UnsafeMutablePointer<Float> { store.values + store.offsets[index] }
    public var gradients: UnsafeMutablePointer<Float> { store.gradients + store.offsets[index] }
    /// The dense gradient of a sparse tensor on a step that computes it, else nil.
    public var denseGradients: UnsafeMutablePointer<Float>? {
        store.denseGradients.map { $0 + store.denseOffsets[index] }
    }
}

/// Every trainable value of a model in one flat buffer, and its gradient in another of
/// the same layout, tensor after tensor in declaration order.
///
/// The flat layout is what makes the per-step communication one fused in-place all-reduce
/// with no packing copy (docs/ARCHITECTURE.md), and lets the optimizer run one
/// loop over all values. A gradient buffer holds `gradientLength = count + auxiliaryCount`
/// floats: the extra slots carry per-step sums (the loss) in the same all-reduce.
///
/// Layers write gradients into whatever buffer `gradients` points at; the training step
/// redirects it to accumulate micro-batches (`GradientTree`). On steps that need them
/// (mask updates), `denseGradients` points at a buffer of `denseCount` floats holding the
/// dense gradients of the sparse tensors; otherwise it is nil and no such memory exists.
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
    public let auxiliaryCount: Int
    public private(set) var values: UnsafeMutablePointer<Float>
    /// The buffer backward passes write into now: the store's own, or a redirected one.
    public private(set) var gradients: UnsafeMutablePointer<Float>
    private var ownGradients: UnsafeMutablePointer<Float>
    /// Offsets of each sparse tensor's dense gradient in a dense-gradient buffer (0 for
    /// dense tensors), and that buffer's length.
    public let denseOffsets: [Int]
    public let denseCount: Int
    public private(set) var denseGradients: UnsafeMutablePointer<Float>?
    /// Buffers laid out like `values` (optimizer state).
    public private(set) var states: [UnsafeMutablePointer<Float>] = []
    /// Incremented by every `resize`.
    public private(set) var layoutVersion = 0

    public init(specs: [ParameterSpec], auxiliaryCount: Int = 0) {
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

    /// Floats in one gradient buffer: the gradients, then the auxiliary slots.
    public var gradientLength: Int { count + auxiliaryCount }

    public func slot(_ index: Int) -> ParameterSlot { ParameterSlot(store: self, index: index) }

    /// Points `gradients` at `buffer` (of `gradientLength` floats), or back at the store's
    /// own buffer when nil.
    public func redirectGradients(to buffer: UnsafeMutablePointer<Float>?) {
        gradients = buffer ?? ownGradients
    }

    /// Points `denseGradients` at `buffer` (of `denseCount` floats), or nil.
    public func redirectDenseGradients(to buffer: UnsafeMutablePointer<Float>?) {
        denseGradients = buffer
    }

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
    /// pointers into the store must be taken again; gradients point at the store's own
    /// (resized, zeroed where new) buffer afterwards, and holders of gradient-sized buffers
    /// see `layoutVersion` change. Dense gradients keep their layout (it does not depend on
    /// active counts).
    public func resize(_ index: Int, source: [Int?]) {
        var newSpecs = specs
        newSpecs[index].count = source.count
        let (newOffsets, newCount) = ParameterStore.layout(newSpecs)
        func moved(_ old: UnsafeMutablePointer<Float>, extra: Int) -> UnsafeMutablePointer<Float> {
            let b = UnsafeMutablePointer<Float>.allocate(capacity: max(newCount + extra, 1))
            b.initialize(repeating: 0, count: max(newCount + extra, 1))
            for t in specs.indices where t != index {
                (b + newOffsets[t]).update(from: old + offsets[t], count: specs[t].count)
            }
            for (p, s) in source.enumerated() { b[newOffsets[index] + p] = s.map { old[offsets[index] + $0] } ?? 0 }
            old.deallocate()
            return b
        }
        values = moved(values, extra: 0)
        states = states.map { moved($0, extra: 0) }
        ownGradients = moved(ownGradients, extra: auxiliaryCount)
        gradients = ownGradients
        specs = newSpecs
        offsets = newOffsets
        count = newCount
        layoutVersion += 1
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
