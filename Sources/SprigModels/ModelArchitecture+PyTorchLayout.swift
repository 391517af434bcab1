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
/// A ReLU follows every convolution and every linear layer but the last (before any
/// pooling); the last linear layer gives the logits, no softmax (`ModelArchitecture.zoo`).
extension ModelArchitecture {
    /// The shape of one input: `[C, H, W]` or `[features]`.
    public var inputShape: [Int] {
        switch self {
        case .mlp(let sizes): return [sizes[0]]
        case .network(let input, _): return input
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
}
