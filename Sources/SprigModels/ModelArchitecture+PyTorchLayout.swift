/// An architecture in PyTorch's terms, for the metadata of an export: what a reader needs
/// to build the module whose `state_dict` the export is.
///
/// The input is one image as `inputShape`: `[C, H, W]` (NCHW without the batch) for a
/// network with convolutions, `[H W]` for a multilayer perceptron, the pixels row by row
/// (IDX order). `layers` is the forward pass in order, as JSON objects:
/// - `{"op": "conv2d", "name": "conv1", "in_channels", "out_channels", "kernel_size",
///   "stride", "padding"}`: `torch.nn.Conv2d` (a cross-correlation with zero padding and
///   a bias; weight `[O, C, k, k]`);
/// - `{"op": "max_pool2d", "kernel_size": s, "stride": s}`: non-overlapping windows,
///   `floor(H / s)` outputs (`torch.nn.functional.max_pool2d(x, s)`);
/// - `{"op": "flatten"}`: `torch.flatten(x, 1)`, features in (channel, y, x) order;
/// - `{"op": "linear", "name": "fc1", "in_features", "out_features"}`: `torch.nn.Linear`,
///   `y = x W^T + b`, weight `[out, in]`;
/// - `{"op": "relu"}`.
/// In the zoo's chains (`mlp`, `network`) a ReLU follows every convolution and every linear
/// layer but the last (before any pooling); the last linear layer gives the logits, no
/// softmax (`ModelArchitecture.zoo`). A graph model (`LayerNode`) writes every operation
/// out, and adds:
/// - `"bias": false` on a `conv2d` or `linear` without one;
/// - `{"op": "batch_norm2d" | "batch_norm1d", "name", "num_features"}`:
///   `torch.nn.BatchNorm2d` (after a convolution) or `BatchNorm1d` (after a linear layer),
///   momentum 0.1, eps 1e-5, with its buffers `running_mean`, `running_var` and
///   `num_batches_tracked` in the state_dict;
/// - `{"op": "dropout", "p"}`: `torch.nn.functional.dropout` (the identity in eval mode);
/// - `{"op": "global_avg_pool2d"}`: the mean over each channel's positions, flat
///   (`torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)`);
/// - `{"op": "residual", "name", "before", "body", "shortcut", "after"}`: lists of operations
///   (`shortcut` null for the identity) computing `after(body(h) + shortcut(h))`,
///   `h = before(x)`; the block is a module at `name` (`layer1.0`), its layers' names
///   relative to it.
extension ModelArchitecture {
    /// The shape of one input: `[C, H, W]` or `[features]`.
    public var inputShape: [Int] {
        switch self {
        case .mlp(let sizes): return [sizes[0]]
        case .network(let input, _), .graph(let input, _): return input
        }
    }

    /// The forward pass as a JSON array of operations (see the type's description).
    public var pytorchLayers: String {
        func object(_ fields: [(String, String)]) -> String {
            "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
        }
        func linear(_ name: String, _ n: Int, _ m: Int) -> String {
            object([("op", "\"linear\""), ("name", "\"\(name)\""), ("in_features", "\(n)"), ("out_features", "\(m)")])
        }
        let relu = object([("op", "\"relu\"")])
        var ops: [String] = []
        switch self {
        case .graph(let input, let layers):
            var shape = input.count == 3 ? FeatureShape(channels: input[0], height: input[1], width: input[2], flat: false)
                : FeatureShape(channels: input.reduce(1, *), height: 1, width: 1, flat: true)
            return ModelArchitecture.pytorchOperations(layers, &shape)
        case .mlp(let sizes):
            for i in 0..<(sizes.count - 1) {
                ops.append(linear("fc\(i + 1)", sizes[i], sizes[i + 1]))
                if i < sizes.count - 2 { ops.append(relu) }
            }
        case .network(let input, let layers):
            var (c, h, w) = (input[0], input[1], input[2])
            var convs = 0, fcs = 0, flat = false
            let lastFC = layers.lastIndex { if case .fc = $0 { return true } else { return false } }
            for (i, spec) in layers.enumerated() {
                switch spec {
                case .conv(let o, let k, let s, let p):
                    convs += 1
                    ops.append(object([("op", "\"conv2d\""), ("name", "\"conv\(convs)\""), ("in_channels", "\(c)"),
                                       ("out_channels", "\(o)"), ("kernel_size", "\(k)"), ("stride", "\(s)"), ("padding", "\(p)")]))
                    ops.append(relu)
                    (c, h, w) = (o, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1)
                case .pool(let size):
                    ops.append(object([("op", "\"max_pool2d\""), ("kernel_size", "\(size)"), ("stride", "\(size)")]))
                    (h, w) = (h / size, w / size)
                case .fc(let m):
                    if !flat { ops.append(object([("op", "\"flatten\"")])) }
                    flat = true
                    fcs += 1
                    ops.append(linear("fc\(fcs)", c * h * w, m))
                    if i != lastFC { ops.append(relu) }
                    (c, h, w) = (m, 1, 1)
                }
            }
        }
        return "[" + ops.joined(separator: ", ") + "]"
    }


    /// The JSON array of a graph model's operations from `shape` on (see the type's description).
    static func pytorchOperations(_ nodes: [LayerNode], _ shape: inout FeatureShape) -> String {
        func object(_ fields: [(String, String)]) -> String {
            "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
        }
        func quoted(_ s: String) -> String { "\"\(s)\"" }
        var ops: [String] = []
        for node in nodes {
            let s = shape
            switch node {
            case .conv(let name, let o, let k, let stride, let p, let bias):
                ops.append(object([("op", quoted("conv2d")), ("name", quoted(name)), ("in_channels", "\(s.channels)"),
                                   ("out_channels", "\(o)"), ("kernel_size", "\(k)"), ("stride", "\(stride)"), ("padding", "\(p)"),
                                   ("bias", "\(bias)")]))
                shape = FeatureShape(channels: o, height: (s.height + 2 * p - k) / stride + 1, width: (s.width + 2 * p - k) / stride + 1,
                                     flat: false)
            case .batchNorm(let name):
                ops.append(object([("op", quoted(s.flat ? "batch_norm1d" : "batch_norm2d")), ("name", quoted(name)),
                                   ("num_features", "\(s.channels)")]))
            case .relu:
                ops.append(object([("op", quoted("relu"))]))
            case .maxPool(let size):
                ops.append(object([("op", quoted("max_pool2d")), ("kernel_size", "\(size)"), ("stride", "\(size)")]))
                shape = FeatureShape(channels: s.channels, height: s.height / size, width: s.width / size, flat: false)
            case .dropout(let rate):
                ops.append(object([("op", quoted("dropout")), ("p", "\(rate)")]))
            case .globalAveragePool:
                ops.append(object([("op", quoted("global_avg_pool2d"))]))
                shape = FeatureShape(channels: s.channels, height: 1, width: 1, flat: true)
            case .linear(let name, let m, let bias):
                if !s.flat { ops.append(object([("op", quoted("flatten"))])) }
                ops.append(object([("op", quoted("linear")), ("name", quoted(name)), ("in_features", "\(s.features)"),
                                   ("out_features", "\(m)"), ("bias", "\(bias)")]))
                shape = FeatureShape(channels: m, height: 1, width: 1, flat: true)
            case .residual(let name, let before, let body, let shortcut, let after):
                var h = s
                let pre = pytorchOperations(before, &h)
                var a = h
                let main = pytorchOperations(body, &a)
                var b = h
                let side = shortcut.map { pytorchOperations($0, &b) } ?? "null"
                var z = a
                let post = pytorchOperations(after, &z)
                shape = z
                ops.append(object([("op", quoted("residual")), ("name", quoted(name)), ("before", pre), ("body", main),
                                   ("shortcut", side), ("after", post)]))
            }
        }
        return "[" + ops.joined(separator: ", ") + "]"
    }
}
