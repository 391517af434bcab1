/// The architectures Sprig builds by name.
public enum ModelArchitecture: Equatable, CustomStringConvertible {
    /// A multilayer perceptron with ReLU between its fully connected layers; `sizes` are the
    /// widths from input to output.
    case mlp(sizes: [Int])

    /// The named models: `lenet-300-100` (LeCun et al. 1998; 784-300-100-10, the RigL
    /// paper's MNIST model) and `mlp-wide` (784-2048-2048-10, a wide MLP for scaling
    /// experiments).
    public static let zoo: [String: ModelArchitecture] = [
        "lenet-300-100": .mlp(sizes: [784, 300, 100, 10]),
        "mlp-wide": .mlp(sizes: [784, 2048, 2048, 10]),
    ]

    public var description: String {
        switch self {
        case .mlp(let sizes): return "mlp " + sizes.map(String.init).joined(separator: "-")
        }
    }

    public var inputFeatures: Int {
        switch self {
        case .mlp(let sizes): return sizes[0]
        }
    }

    public var classes: Int {
        switch self {
        case .mlp(let sizes): return sizes[sizes.count - 1]
        }
    }

    /// The weight layers as the sparsity distributions see them (`fc1`, `fc2`, ...).
    public var weightShapes: [SparsityDistribution.LayerShape] {
        switch self {
        case .mlp(let sizes):
            return (0..<(sizes.count - 1)).map { .init(name: "fc\($0 + 1)", shape: [sizes[$0 + 1], sizes[$0]]) }
        }
    }

    /// The layers of the architecture. A weight layer with sparsity above 0 (one entry per
    /// weight layer) becomes a `SparseLinear` with a random mask of exactly
    /// `SparsityDistribution.activeCount` connections, drawn from the stream
    /// (seed, maskInit, layer). Layers in `denseStart` become `SparseLinear` with every
    /// connection active (gradual pruning starts dense).
    public func makeLayers(sparsities: [Double]? = nil, seed: UInt64 = 0, denseMathDensity: Double = 0.3,
                           denseStart: Set<Int> = []) -> [Layer] {
        switch self {
        case .mlp(let sizes):
            precondition(sparsities == nil || sparsities!.count == sizes.count - 1, "one sparsity per weight layer")
            var layers: [Layer] = []
            for k in 0..<(sizes.count - 1) {
                let s = denseStart.contains(k) ? 0 : sparsities?[k] ?? 0
                if s > 0 || denseStart.contains(k) {
                    let count = sizes[k] * sizes[k + 1]
                    var random = StatelessRandom(seed: seed, purpose: .maskInit, layer: k)
                    let active = RandomMask.indices(count: SparsityDistribution.activeCount(count: count, sparsity: s),
                                                    of: count, random: &random)
                    layers.append(SparseLinear(inputFeatures: sizes[k], outputFeatures: sizes[k + 1],
                                               pattern: SparsePattern(rows: sizes[k + 1], cols: sizes[k], activeIndices: active),
                                               denseMathDensity: denseMathDensity))
                } else {
                    layers.append(Linear(inputFeatures: sizes[k], outputFeatures: sizes[k + 1]))
                }
                if k < sizes.count - 2 { layers.append(ReLU(features: sizes[k + 1])) }
            }
            return layers
        }
    }
}
