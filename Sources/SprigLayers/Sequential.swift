import SprigTensor

/// Layers applied one after another, with all their parameters in one `ParameterStore`.
/// A layer may be a block of layers (`ResidualBlock`): the model is then a graph, and its
/// `leaves` (every layer without sublayers, in the order they run) are what
/// initialisation, the sparse methods and NNrelief see.
///
/// Parameter tensors are named by `names` (PyTorch's module names: `layer1.0.conv1.weight`)
/// or else by the layer's kind and its rank among the layers of that kind (`fc1.weight`,
/// `fc1.bias`, `fc2.weight`, ...).
public final class Sequential {
    public let layers: [Layer]
    public let store: ParameterStore
    /// The index of the first store tensor of each layer.
    public let firstParameter: [Int]
    /// The layers without sublayers, depth first, in the order they run.
    public let leaves: [Layer]
    /// The batch normalisations among the leaves, and their names (`layer1.0.bn1`).
    public let batchNorms: [BatchNorm]
    public let batchNormNames: [String]
    /// The dropout layers among the leaves.
    public let dropouts: [Dropout]

    /// Builds the model and its store; `names` (one per layer, nil for layers without
    /// parameters) name the parameters.
    public init(layers: [Layer], names: [String?]? = nil) {
        precondition(!layers.isEmpty, "a model needs at least one layer")
        for (a, b) in zip(layers, layers.dropFirst()) {
            precondition(a.outputFeatures == b.inputFeatures,
                         "layer sizes do not chain: \(a.outputFeatures) -> \(b.inputFeatures)")
        }
        self.layers = layers
        BatchNorm.fuseReLUs(in: layers)
        var specs: [ParameterSpec] = []
        var first: [Int] = []
        var kindCounts: [String: Int] = [:]
        precondition(names == nil || names!.count == layers.count, "one name per layer")
        var normNames: [String] = []
        for (i, layer) in layers.enumerated() {
            first.append(specs.count)
            let layerSpecs = layer.parameterSpecs
            guard !layerSpecs.isEmpty else { continue }
            let kind = layer is Conv2D ? "conv" : layer is Linear || layer is SparseLinear ? "fc" : "layer"
            kindCounts[kind, default: 0] += 1
            let name = names?[i] ?? "\(kind)\(kindCounts[kind]!)"
            if layer is BatchNorm { normNames.append(name) }
            if let block = layer as? ResidualBlock {
                for (sub, subName) in zip(block.sublayers, block.names) where sub is BatchNorm { normNames.append("\(name).\(subName ?? "layer")") }
            }
            for var spec in layerSpecs {
                spec.name = "\(name).\(spec.name)"
                specs.append(spec)
            }
        }
        firstParameter = first
        func flatten(_ layer: Layer) -> [Layer] { layer.sublayers.isEmpty ? [layer] : layer.sublayers.flatMap(flatten) }
        leaves = layers.flatMap(flatten)
        batchNorms = leaves.compactMap { $0 as? BatchNorm }
        batchNormNames = normNames
        dropouts = leaves.compactMap { $0 as? Dropout }
        precondition(batchNormNames.count == batchNorms.count, "batch norms nested deeper than one block")
        store = ParameterStore(specs: specs)
        for (i, layer) in layers.enumerated() {
            let n = layer.parameterSpecs.count
            layer.bind((0..<n).map { store.slot(first[i] + $0) })
        }
    }

    public var inputFeatures: Int { layers[0].inputFeatures }
    public var outputFeatures: Int { layers[layers.count - 1].outputFeatures }

    /// Draws every layer's initial parameters from streams keyed by (seed, index among the leaves).
    public func initialize(_ initializer: WeightInitializer, seed: UInt64) {
        for (i, layer) in leaves.enumerated() {
            layer.initialize(initializer, seed: seed, layerIndex: i)
        }
    }

    /// Training mode (batch normalisation over each micro-batch of `microbatchSize`
    /// examples, dropout) or evaluation mode (the running statistics, no dropout), the default.
    public func setTraining(_ on: Bool, microbatchSize: Int = 0) {
        for bn in batchNorms {
            bn.isTraining = on
            bn.microbatchSize = microbatchSize
        }
        for d in dropouts { d.isTraining = on }
    }

    /// Where the next training forward pass sits: its step, and the global-batch position of
    /// its first column (the key of its dropout masks).
    public func setBatchPosition(step: Int, firstExample: Int) {
        for d in dropouts {
            d.step = step
            d.firstExample = firstExample
        }
    }

    /// Floats of the statistics a training pass leaves for the running statistics.
    public var statisticsCount: Int { batchNorms.reduce(0) { $0 + $1.statisticsCount } }

    /// The last training pass's statistics, every batch norm's in turn, its micro-batches
    /// added in the pairwise tree (`BatchNorm.writeStatistics`).
    public func writeStatistics(into buffer: UnsafeMutablePointer<Float>) {
        var offset = 0
        for bn in batchNorms {
            bn.writeStatistics(into: buffer + offset)
            offset += bn.statisticsCount
        }
    }

    /// Updates every running statistic from the global batch's sums over `microbatches`.
    public func applyStatistics(_ sums: UnsafePointer<Float>, microbatches: Int) {
        var offset = 0
        for bn in batchNorms {
            bn.applyStatistics(sums + offset, microbatches: microbatches)
            offset += bn.statisticsCount
        }
    }

    /// The logits of a feature-major batch.
    public func forward(_ x: Matrix) -> Matrix {
        var h = x
        for layer in layers { h = layer.forward(h) }
        return h
    }

    /// The logits of a batch, calling `observe(index, input, output)` after each leaf, with
    /// its index in `leaves` (a ReLU works in place: its input and output are the same matrix).
    public func forward(_ x: Matrix, observe: (Int, Matrix, Matrix) -> Void) -> Matrix {
        let index = Dictionary(uniqueKeysWithValues: leaves.enumerated().map { (ObjectIdentifier($1), $0) })
        var h = x
        for layer in layers {
            h = layer.forward(h) { leaf, input, output in observe(index[ObjectIdentifier(leaf)]!, input, output) }
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
        let blocks = layers.reduce(0) { $0 + ($1.sublayers.isEmpty ? 0 : $1.outputFeatures) } // residual additions
        return leaves.reduce(blocks) { acc, layer in
            if let s = layer as? SparseLinear { return acc + 2 * s.inputFeatures * s.outputFeatures }
            if let c = layer as? Conv2D, let s = c.product as? SparseLinear { return acc + 2 * s.inputFeatures * s.outputFeatures * c.positions }
            return acc + layer.forwardFLOPsPerExample
        }
    }

    /// The sparse products, in order, with the index in `leaves` of the layer that holds
    /// them (a `SparseLinear`, or the `Conv2D` whose kernels it holds).
    public var sparseLayers: [(index: Int, layer: SparseLinear)] {
        leaves.enumerated().compactMap { i, l in
            if let s = l as? SparseLinear { return (i, s) }
            if let c = l as? Conv2D, let s = c.product as? SparseLinear { return (i, s) }
            return nil
        }
    }
}
