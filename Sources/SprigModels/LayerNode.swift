/// One entry of a model written as a list of layers and blocks (`ModelArchitecture.graph`),
/// where nothing is implied: every ReLU, batch norm and pooling is written out. `name` is
/// the PyTorch module's attribute name (`conv1`, `layer1.0`, `features.3`), which names the
/// parameters (`layer1.0.conv1.weight`) in exports, checkpoints and `layers:` overrides.
public indirect enum LayerNode: Equatable, Sendable {
    /// `torch.nn.Conv2d(in, channels, kernel, stride, padding, bias=bias)`.
    case conv(name: String, channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true)
    /// `torch.nn.BatchNorm2d` over a convolution's channels (`BatchNorm1d` over a linear
    /// layer's features), with learnable scale and shift (`BatchNorm`).
    case batchNorm(name: String)
    case relu
    /// Non-overlapping `size x size` max pooling.
    case maxPool(size: Int)
    /// Dropout of a share `rate` of the values in training (`Dropout`), the identity in evaluation.
    case dropout(rate: Double)
    /// The mean of each channel over its positions; the result is flat (channels).
    case globalAveragePool
    /// `torch.nn.Linear(in, outputs, bias=bias)`, flattening a feature map in (C, H, W) order.
    case linear(name: String, outputs: Int, bias: Bool = true)
    /// `y = after(body(h) + shortcut(h))`, `h = before(x)`, the identity for a nil shortcut
    /// (`ResidualBlock`); the layers' names are relative to the block's.
    case residual(name: String, before: [LayerNode] = [], body: [LayerNode], shortcut: [LayerNode]?, after: [LayerNode])

    /// The nodes' short description, as `ModelArchitecture.description` prints it.
    public static func describe(_ nodes: [LayerNode]) -> String {
        nodes.map { node -> String in
            switch node {
            case .conv(_, let c, let k, let s, let p, _): return "conv\(c)@\(k)x\(k)" + (s > 1 ? "/\(s)" : "") + (p > 0 ? "p\(p)" : "")
            case .batchNorm: return "bn"
            case .relu: return "relu"
            case .maxPool(let size): return "pool\(size)"
            case .dropout(let rate): return "drop\(rate)"
            case .globalAveragePool: return "gap"
            case .linear(_, let n, _): return "fc\(n)"
            case .residual(_, let before, let body, let shortcut, let after):
                return "[" + (before.isEmpty ? "" : describe(before) + ":") + describe(body) + "+"
                    + (shortcut.map(describe) ?? "id") + (after.isEmpty ? "" : ":" + describe(after)) + "]"
            }
        }.joined(separator: "-")
    }
}
