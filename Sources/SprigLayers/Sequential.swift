import SprigTensor

/// Layers applied one after another, with all their parameters in one `ParameterStore`.
///
/// Parameter tensors are named by the layer's kind and its rank among the layers of that
/// kind (`fc1.weight`, `fc1.bias`, `fc2.weight`, ...).
public final class Sequential {
    public let layers: [Layer]
    public let store: ParameterStore
    /// The index of the first store tensor of each layer.
    public let firstParameter: [Int]

    /// Builds the model and its store.
    public init(layers: [Layer]) {
        precondition(!layers.isEmpty, "a model needs at least one layer")
        for (a, b) in zip(layers, layers.dropFirst()) {
            precondition(a.outputFeatures == b.inputFeatures,
                         "layer sizes do not chain: \(a.outputFeatures) -> \(b.inputFeatures)")
        }
        self.layers = layers
        var specs: [ParameterSpec] = []
        var first: [Int] = []
        var kindCounts: [String: Int] = [:]
        for layer in layers {
            first.append(specs.count)
            let layerSpecs = layer.parameterSpecs
            guard !layerSpecs.isEmpty else { continue }
            let kind = layer is Conv2D ? "conv" : layer is Linear || layer is SparseLinear ? "fc" : "layer"
            kindCounts[kind, default: 0] += 1
            for var spec in layerSpecs {
                spec.name = "\(kind)\(kindCounts[kind]!).\(spec.name)"
                specs.append(spec)
            }
        }
        firstParameter = first
        store = ParameterStore(specs: specs)
        for (i, layer) in layers.enumerated() {
            let n = layer.parameterSpecs.count
            layer.bind((0..<n).map { store.slot(first[i] + $0) })
        }
    }

    public var inputFeatures: Int { layers[0].inputFeatures }
    public var outputFeatures: Int { layers[layers.count - 1].outputFeatures }

    /// Draws every layer's initial parameters from streams keyed by (seed, layer index).
    public func initialize(_ initializer: WeightInitializer, seed: UInt64) {
        for (i, layer) in layers.enumerated() {
            layer.initialize(initializer, seed: seed, layerIndex: i)
        }
    }

    /// The logits of a feature-major batch.
    public func forward(_ x: Matrix) -> Matrix {
        var h = x
        for layer in layers { h = layer.forward(h) }
        return h
    }

    /// The logits of a batch, calling `observe(index, input, output)` after each layer
    /// (a ReLU works in place: its input and output are the same matrix).
    public func forward(_ x: Matrix, observe: (Int, Matrix, Matrix) -> Void) -> Matrix {
        var h = x
        for (i, layer) in layers.enumerated() {
            let input = h
            h = layer.forward(h)
            observe(i, input, h)
        }
        return h
    }

    /// Back-propagates the gradient of the loss with respect to the logits, filling the
    /// gradients of every parameter into `gradients` (laid out like the store). No input
    /// gradient is computed for the first layer.
    public func backward(_ dLogits: Matrix, into gradients: GradientBuffers) {
        var g = dLogits
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            guard let next = layers[i].backward(g, into: gradients, needInputGradient: i > 0) else { break }
            g = next
        }
    }

    /// True when every layer runs several micro-batches of `size` examples side by side
    /// with each column's bits as alone (`Layer.batchesMicrobatches(ofSize:)`).
    public func batchesMicrobatches(ofSize size: Int) -> Bool {
        layers.allSatisfy { $0.batchesMicrobatches(ofSize: size) }
    }

    /// `backward(_:into:)` over `microbatches` micro-batches side by side in the columns:
    /// every parameter gradient is their pairwise-tree sum (`Layer.backward(_:microbatches:...)`).
    public func backward(_ dLogits: Matrix, microbatches: Int, into gradients: GradientBuffers) {
        var g = dLogits
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            guard let next = layers[i].backward(g, microbatches: microbatches, into: gradients, needInputGradient: i > 0) else { break }
            g = next
        }
    }

    /// FLOPs of one example's forward pass (2 per active weight).
    public var forwardFLOPsPerExample: Int { layers.reduce(0) { $0 + $1.forwardFLOPsPerExample } }

    /// FLOPs of one example's forward pass were every layer dense.
    public var denseForwardFLOPsPerExample: Int {
        layers.reduce(0) { acc, layer in
            if let s = layer as? SparseLinear { return acc + 2 * s.inputFeatures * s.outputFeatures }
            if let c = layer as? Conv2D, let s = c.product as? SparseLinear { return acc + 2 * s.inputFeatures * s.outputFeatures * c.positions }
            return acc + layer.forwardFLOPsPerExample
        }
    }

    /// The sparse products, in order, with the index in `layers` of the layer that holds
    /// them (a `SparseLinear`, or the `Conv2D` whose kernels it holds).
    public var sparseLayers: [(index: Int, layer: SparseLinear)] {
        layers.enumerated().compactMap { i, l in
            if let s = l as? SparseLinear { return (i, s) }
            if let c = l as? Conv2D, let s = c.product as? SparseLinear { return (i, s) }
            return nil
        }
    }
}
