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

    /// The layers of the architecture.
    public func makeLayers() -> [Layer] {
        switch self {
        case .mlp(let sizes):
            var layers: [Layer] = []
            for k in 0..<(sizes.count - 1) {
                layers.append(Linear(inputFeatures: sizes[k], outputFeatures: sizes[k + 1]))
                if k < sizes.count - 2 { layers.append(ReLU(features: sizes[k + 1])) }
            }
            return layers
        }
    }
}
