import SprigTensor
import SprigLayers
import SprigSparsity

/// Models written as a list of layers and blocks (`ModelArchitecture.graph`): the walk
/// over their shapes that builds the layers, names the weight layers and checks that the
/// input fits.
extension ModelArchitecture {
    /// A feature map `channels x height x width`, or flat features (`channels` of them).
    struct FeatureShape {
        var channels: Int, height: Int, width: Int
        var flat: Bool
        var features: Int { channels * height * width }
    }

    /// What a walk builds: layers with their names, and the weight layers' shapes.
    struct GraphWalk {
        var sparsities: [Double]?
        var seed: UInt64 = 0
        var denseMathDensity = 0.3, convDenseMathDensity = 0.5
        var denseStart: Set<Int> = []
        var fanIn: SparseFanIn = .dense
        /// Whether to make the layers (else only shapes and names).
        var builds = false
        var weightShapes: [SparsityDistribution.LayerShape] = []
        /// Why the input does not fit, when it does not.
        var problem: String?

        mutating func walk(_ nodes: [LayerNode], _ shape: inout FeatureShape, prefix: String) -> [(layer: Layer, name: String?)] {
            var out: [(layer: Layer, name: String?)] = []
            for node in nodes where problem == nil {
                let s = shape
                switch node {
                case .conv(let name, let o, let k, let stride, let p, let bias):
                    let full = prefix + name
                    guard !s.flat else { problem = "\(full) gets flat features, not an image"; break }
                    guard s.height + 2 * p >= k && s.width + 2 * p >= k else {
                        problem = "\(full) (\(k)x\(k), padding \(p)) gets \(s.channels)x\(s.height)x\(s.width) inputs, smaller than its kernel"
                        break
                    }
                    let index = weightShapes.count
                    weightShapes.append(.init(name: full, shape: [o, s.channels, k, k]))
                    shape = FeatureShape(channels: o, height: (s.height + 2 * p - k) / stride + 1, width: (s.width + 2 * p - k) / stride + 1,
                                         flat: false)
                    guard builds else { break }
                    let pattern = ModelArchitecture.initialPattern(rows: o, cols: s.channels * k * k, sparsity: sparsities?[index] ?? 0,
                                                                   seed: seed, layer: index, denseStart: denseStart.contains(index))
                    let conv = Conv2D(inputChannels: s.channels, inputHeight: s.height, inputWidth: s.width, outputChannels: o, kernel: k,
                                      stride: stride, padding: p, bias: bias, pattern: pattern, denseMathDensity: convDenseMathDensity)
                    (conv.product as? SparseLinear)?.fanIn = fanIn
                    out.append((conv, name))
                case .batchNorm(let name):
                    if builds { out.append((BatchNorm(channels: s.channels, positions: s.height * s.width), name)) }
                case .relu:
                    if builds { out.append((ReLU(features: s.features), nil)) }
                case .maxPool(let size):
                    guard !s.flat, s.height >= size && s.width >= size else {
                        problem = "a \(size)x\(size) pooling gets \(s.channels)x\(s.height)x\(s.width) inputs"
                        break
                    }
                    shape = FeatureShape(channels: s.channels, height: s.height / size, width: s.width / size, flat: false)
                    if builds { out.append((MaxPool2D(channels: s.channels, inputHeight: s.height, inputWidth: s.width, size: size), nil)) }
                case .dropout(let rate):
                    guard rate >= 0 && rate < 1 else { problem = "a dropout rate of \(rate), not in [0, 1)"; break }
                    if builds { out.append((Dropout(features: s.features, rate: rate), nil)) }
                case .globalAveragePool:
                    shape = FeatureShape(channels: s.channels, height: 1, width: 1, flat: true)
                    if builds { out.append((GlobalAveragePool(channels: s.channels, positions: s.height * s.width), nil)) }
                case .linear(let name, let m, let bias):
                    let index = weightShapes.count, n = s.features
                    weightShapes.append(.init(name: prefix + name, shape: [m, n]))
                    shape = FeatureShape(channels: m, height: 1, width: 1, flat: true)
                    guard builds else { break }
                    if let pattern = ModelArchitecture.initialPattern(rows: m, cols: n, sparsity: sparsities?[index] ?? 0, seed: seed,
                                                                      layer: index, denseStart: denseStart.contains(index)) {
                        out.append((SparseLinear(inputFeatures: n, outputFeatures: m, pattern: pattern, denseMathDensity: denseMathDensity,
                                                 fanIn: fanIn, bias: bias), name))
                    } else {
                        out.append((Linear(inputFeatures: n, outputFeatures: m, bias: bias), name))
                    }
                case .residual(let name, let before, let body, let shortcut, let after):
                    let inner = prefix + name + "."
                    var h = s
                    let pre = walk(before, &h, prefix: inner)
                    var a = h
                    let main = walk(body, &a, prefix: inner)
                    var b = h
                    let side = shortcut.map { walk($0, &b, prefix: inner) }
                    guard problem == nil else { break }
                    guard a.features == b.features && a.flat == b.flat else {
                        problem = "\(prefix + name)'s body gives \(a.channels)x\(a.height)x\(a.width) features, its shortcut \(b.channels)x\(b.height)x\(b.width)"
                        break
                    }
                    var z = a
                    let post = walk(after, &z, prefix: inner)
                    shape = z
                    guard builds, problem == nil else { break }
                    let parts = pre + main + (side ?? []) + post
                    out.append((ResidualBlock(pre: pre.map(\.layer), body: main.map(\.layer), shortcut: side?.map(\.layer),
                                              post: post.map(\.layer), names: parts.map(\.name)), name))
                }
            }
            return out
        }
    }

    /// The initial mask of a weight layer (rows x cols) at `sparsity`: every connection for a
    /// layer that starts dense, none (a dense layer) at sparsity 0, else exactly
    /// `SparsityDistribution.activeCount` connections drawn from the stream (seed, maskInit,
    /// weight-layer index).
    static func initialPattern(rows: Int, cols: Int, sparsity: Double, seed: UInt64, layer: Int, denseStart: Bool) -> SparsePattern? {
        if denseStart { return .dense(rows: rows, cols: cols) }
        guard sparsity > 0 else { return nil }
        var random = StatelessRandom(seed: seed, purpose: .maskInit, layer: layer)
        let total = rows * cols
        return SparsePattern(rows: rows, cols: cols, activeIndices: RandomMask.indices(
            count: SparsityDistribution.activeCount(count: total, sparsity: sparsity), of: total, random: &random))
    }

    /// The walk over a graph model's input (`[C, H, W]`, or `[F]` flat features).
    static func walk(_ input: [Int], _ nodes: [LayerNode], _ configure: (inout GraphWalk) -> Void = { _ in })
        -> (layers: [(layer: Layer, name: String?)], walk: GraphWalk) {
        var w = GraphWalk()
        configure(&w)
        var shape = input.count == 3 ? FeatureShape(channels: input[0], height: input[1], width: input[2], flat: false)
            : FeatureShape(channels: input.reduce(1, *), height: 1, width: 1, flat: true)
        let layers = w.walk(nodes, &shape, prefix: "")
        if w.problem == nil && !shape.flat { w.problem = "the model ends in a feature map, not in a linear layer" }
        return (layers, w)
    }

    /// The nodes with the last linear layer giving `classes` outputs.
    static func withClasses(_ nodes: [LayerNode], _ classes: Int) -> [LayerNode] {
        var nodes = nodes
        guard let last = nodes.lastIndex(where: { if case .linear = $0 { return true } else { return false } }),
              case .linear(let name, _, let bias) = nodes[last] else { return nodes }
        nodes[last] = .linear(name: name, outputs: classes, bias: bias)
        return nodes
    }
}
