import SprigTensor
import SprigLayers
import SprigSparsity

/// One stage of a network description. A ReLU follows every convolution and every fully
/// connected layer but the last; a fully connected layer after a convolution or pooling
/// reads the (channel, y, x) features as they are (flattening is free in the
/// feature-major layout).
public enum LayerSpec: Equatable, Sendable {
    case conv(channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0)
    case pool(size: Int)
    case fc(outputs: Int)
}

/// The architectures Sprig builds.
public enum ModelArchitecture: Equatable, CustomStringConvertible {
    /// A multilayer perceptron with ReLU between its fully connected layers; `sizes` are the
    /// widths from input to output.
    case mlp(sizes: [Int])
    /// Layers over an input of shape (channels, height, width).
    case network(input: [Int], layers: [LayerSpec])
    /// A list of layers and blocks with every ReLU, batch norm and pooling written out
    /// (`LayerNode`), over an input of shape `[C, H, W]` (or `[F]`).
    case graph(input: [Int], layers: [LayerNode])

    /// The named models:
    /// - `lenet-300-100` (LeCun et al. 1998; 784-300-100-10, the RigL paper's MNIST model);
    /// - `mlp-wide` (784-2048-2048-10, for scaling experiments);
    /// - `lenet-5` (conv 6@5x5 padding 2, pool 2, conv 16@5x5, pool 2, 120, 84, 10: 400
    ///   features after the second pooling, as in LeCun et al. 1998);
    /// - `lenet-5-caffe` (conv 20@5x5, pool 2, conv 50@5x5, pool 2, 500, 10: Caffe's LeNet,
    ///   the LeNet-5 of Han et al. 2015 and of NNrelief's code; 431,080 parameters on MNIST);
    /// - `vgg-small` (two 3x3 blocks of 16 and 32 channels with pooling, 128, 10);
    /// - `resnet-20`, `resnet-32`, `resnet-56`, `wrn-22-2` and `vgg-16`, the CIFAR conv nets
    ///   with batch norm (`ModelArchitecture+ConvNets`).
    public static let zoo: [String: ModelArchitecture] = convNets.merging([
        "lenet-300-100": .mlp(sizes: [784, 300, 100, 10]),
        "mlp-wide": .mlp(sizes: [784, 2048, 2048, 10]),
        "lenet-5": .network(input: [1, 28, 28], layers: [
            .conv(channels: 6, kernel: 5, padding: 2), .pool(size: 2), .conv(channels: 16, kernel: 5), .pool(size: 2),
            .fc(outputs: 120), .fc(outputs: 84), .fc(outputs: 10)]),
        "lenet-5-caffe": .network(input: [1, 28, 28], layers: [
            .conv(channels: 20, kernel: 5), .pool(size: 2), .conv(channels: 50, kernel: 5), .pool(size: 2),
            .fc(outputs: 500), .fc(outputs: 10)]),
        "vgg-small": .network(input: [1, 28, 28], layers: [
            .conv(channels: 16, kernel: 3, padding: 1), .conv(channels: 16, kernel: 3, padding: 1), .pool(size: 2),
            .conv(channels: 32, kernel: 3, padding: 1), .conv(channels: 32, kernel: 3, padding: 1), .pool(size: 2),
            .fc(outputs: 128), .fc(outputs: 10)]),
    ]) { a, _ in a }

    public var description: String {
        switch self {
        case .mlp(let sizes): return "mlp " + sizes.map(String.init).joined(separator: "-")
        case .network(let input, let layers):
            return "net " + input.map(String.init).joined(separator: "x") + " " + layers.map { spec -> String in
                switch spec {
                case .conv(let c, let k, let s, let p): return "conv\(c)@\(k)x\(k)" + (s > 1 ? "/\(s)" : "") + (p > 0 ? "p\(p)" : "")
                case .pool(let size): return "pool\(size)"
                case .fc(let n): return "fc\(n)"
                }
            }.joined(separator: "-")
        case .graph(let input, let layers):
            return "graph " + input.map(String.init).joined(separator: "x") + " " + LayerNode.describe(layers)
        }
    }

    public var inputFeatures: Int {
        switch self {
        case .mlp(let sizes): return sizes[0]
        case .network(let input, _), .graph(let input, _): return input.reduce(1, *)
        }
    }

    public var classes: Int { weightShapes.last!.shape[0] }

    /// One step of the shape walk: a weight layer (name, dense shape) and the layer itself.
    private struct Stage {
        var name: String?
        var shape: [Int]
        var make: (_ sparsity: Double, _ seed: UInt64, _ index: Int, _ denseMath: Double, _ denseStart: Bool, _ fanIn: SparseFanIn) -> Layer
        var relu: Int?
    }

    /// Walks the layers, tracking the (channels, height, width) shape.
    private var stages: [Stage] {
        func pattern(_ rows: Int, _ cols: Int, _ s: Double, _ seed: UInt64, _ k: Int, _ denseStart: Bool) -> SparsePattern? {
            ModelArchitecture.initialPattern(rows: rows, cols: cols, sparsity: s, seed: seed, layer: k, denseStart: denseStart)
        }
        func fc(_ name: String, _ n: Int, _ m: Int, relu: Bool) -> Stage {
            Stage(name: name, shape: [m, n], make: { s, seed, k, dm, ds, fan in
                if let p = pattern(m, n, s, seed, k, ds) {
                    return SparseLinear(inputFeatures: n, outputFeatures: m, pattern: p, denseMathDensity: dm, fanIn: fan)
                }
                return Linear(inputFeatures: n, outputFeatures: m)
            }, relu: relu ? m : nil)
        }
        switch self {
        case .mlp(let sizes):
            return (0..<(sizes.count - 1)).map { fc("fc\($0 + 1)", sizes[$0], sizes[$0 + 1], relu: $0 < sizes.count - 2) }
        case .network(let input, let layers):
            var (c, h, w) = (input[0], input[1], input[2])
            var out: [Stage] = []
            var convs = 0, fcs = 0
            let lastFC = layers.lastIndex { if case .fc = $0 { return true } else { return false } }
            for (i, spec) in layers.enumerated() {
                switch spec {
                case .conv(let o, let k, let s, let p):
                    convs += 1
                    let (ci, hi, wi) = (c, h, w)
                    let conv = { (sp: Double, seed: UInt64, idx: Int, dm: Double, ds: Bool, fan: SparseFanIn) -> Layer in
                        let layer = Conv2D(inputChannels: ci, inputHeight: hi, inputWidth: wi, outputChannels: o, kernel: k, stride: s,
                                           padding: p, pattern: pattern(o, ci * k * k, sp, seed, idx, ds), denseMathDensity: dm)
                        (layer.product as? SparseLinear)?.fanIn = fan
                        return layer
                    }
                    h = (h + 2 * p - k) / s + 1
                    w = (w + 2 * p - k) / s + 1
                    c = o
                    out.append(Stage(name: "conv\(convs)", shape: [o, ci, k, k], make: conv, relu: c * h * w))
                case .pool(let size):
                    let (ci, hi, wi) = (c, h, w)
                    out.append(Stage(name: nil, shape: [], make: { _, _, _, _, _, _ in MaxPool2D(channels: ci, inputHeight: hi, inputWidth: wi, size: size) }, relu: nil))
                    h /= size
                    w /= size
                case .fc(let m):
                    fcs += 1
                    out.append(fc("fc\(fcs)", c * h * w, m, relu: i != lastFC))
                    (c, h, w) = (m, 1, 1)
                }
            }
            return out
        case .graph:
            preconditionFailure("a graph model has no stages")
        }
    }

    /// The weight layers as the sparsity distributions see them (`conv1`, ..., `fc1`, ...,
    /// or a graph model's names: `layer1.0.conv1`), with dense shapes (out, in) or
    /// (out, in, k, k), in the order they run.
    public var weightShapes: [SparsityDistribution.LayerShape] {
        if case .graph(let input, let layers) = self { return ModelArchitecture.walk(input, layers).walk.weightShapes }
        return stages.compactMap { s in s.name.map { SparsityDistribution.LayerShape(name: $0, shape: s.shape) } }
    }

    /// The model: `makeLayers`' layers, named (a graph model's parameters carry its names).
    public func makeModel(sparsities: [Double]? = nil, seed: UInt64 = 0, denseMathDensity: Double = 0.3,
                          convDenseMathDensity: Double = 0.5, denseStart: Set<Int> = [], fanIn: SparseFanIn = .dense) -> Sequential {
        let built = namedLayers(sparsities: sparsities, seed: seed, denseMathDensity: denseMathDensity,
                                convDenseMathDensity: convDenseMathDensity, denseStart: denseStart, fanIn: fanIn)
        return Sequential(layers: built.map(\.layer), names: built.contains { $0.name != nil } ? built.map(\.name) : nil)
    }

    private func namedLayers(sparsities: [Double]?, seed: UInt64, denseMathDensity: Double, convDenseMathDensity: Double,
                             denseStart: Set<Int>, fanIn: SparseFanIn) -> [(layer: Layer, name: String?)] {
        guard case .graph(let input, let nodes) = self else {
            return makeLayers(sparsities: sparsities, seed: seed, denseMathDensity: denseMathDensity,
                              convDenseMathDensity: convDenseMathDensity, denseStart: denseStart, fanIn: fanIn).map { ($0, nil) }
        }
        precondition(sparsities == nil || sparsities!.count == weightShapes.count, "one sparsity per weight layer")
        let (layers, walk) = ModelArchitecture.walk(input, nodes) { w in
            w.builds = true
            w.sparsities = sparsities
            w.seed = seed
            w.denseMathDensity = denseMathDensity
            w.convDenseMathDensity = convDenseMathDensity
            w.denseStart = denseStart
            w.fanIn = fanIn
        }
        precondition(walk.problem == nil, "the model does not fit its input: \(walk.problem!)")
        return layers
    }

    /// The layers of the architecture. A weight layer with sparsity above 0 (one entry per
    /// weight layer, in `weightShapes` order) gets a random mask of exactly
    /// `SparsityDistribution.activeCount` connections, drawn from the stream
    /// (seed, maskInit, weight-layer index); layers in `denseStart` get every connection
    /// active but stay sparse layers (gradual pruning starts dense). Sparse layers scale
    /// their initial weights by `fanIn` (`SparseFanIn`).
    /// Sparse layers denser than `denseMathDensity` (fully connected) or
    /// `convDenseMathDensity` (convolutions) multiply an expanded dense copy on `DenseKernels`.
    public func makeLayers(sparsities: [Double]? = nil, seed: UInt64 = 0, denseMathDensity: Double = 0.3,
                           convDenseMathDensity: Double = 0.5, denseStart: Set<Int> = [],
                           fanIn: SparseFanIn = .dense) -> [Layer] {
        if case .graph = self {
            return namedLayers(sparsities: sparsities, seed: seed, denseMathDensity: denseMathDensity,
                               convDenseMathDensity: convDenseMathDensity, denseStart: denseStart, fanIn: fanIn).map(\.layer)
        }
        let shapes = weightShapes
        precondition(sparsities == nil || sparsities!.count == shapes.count, "one sparsity per weight layer")
        var layers: [Layer] = []
        var k = 0
        for stage in stages {
            if stage.name != nil {
                let threshold = stage.shape.count == 4 ? convDenseMathDensity : denseMathDensity
                layers.append(stage.make(sparsities?[k] ?? 0, seed, k, threshold, denseStart.contains(k), fanIn))
                k += 1
            } else {
                layers.append(stage.make(0, seed, 0, denseMathDensity, false, fanIn))
            }
            if let features = stage.relu { layers.append(ReLU(features: features)) }
        }
        return layers
    }
}
