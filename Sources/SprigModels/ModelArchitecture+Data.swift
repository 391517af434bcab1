/// Architectures fitted to the data they train on: the zoo's models take their input shape
/// and class count from the data (LeNet-5 on 3 x 32 x 32 CIFAR images has 3 input
/// channels and, on CIFAR-100, 100 outputs), and a model that cannot take the data's
/// examples says why.
extension ModelArchitecture {
    /// This architecture with input examples of `shape` (`[C, H, W]` or `[F]`) and
    /// `classes` outputs: an MLP's first width becomes the example's size (an image's
    /// `C H W` values in order) and its last `classes`; a network's input becomes `shape`
    /// and its last fully connected layer gets `classes` outputs. Check the result with
    /// `shapeProblem` (a network needs images large enough for its layers).
    public func adapted(toInput shape: [Int], classes: Int) -> ModelArchitecture {
        switch self {
        case .mlp(let sizes):
            return .mlp(sizes: [shape.reduce(1, *)] + sizes.dropFirst().dropLast() + [classes])
        case .network(let input, var layers):
            if let last = layers.lastIndex(where: { if case .fc = $0 { return true } else { return false } }) {
                layers[last] = .fc(outputs: classes)
            }
            return .network(input: shape.count == 3 ? shape : input, layers: layers)
        case .graph(let input, let layers):
            return .graph(input: shape.count == 3 ? shape : input, layers: ModelArchitecture.withClasses(layers, classes))
        }
    }

    /// Why the architecture cannot take examples of `shape`, or nil when it can: an MLP
    /// needs `C H W` (or F) inputs; a network needs `[C, H, W]` images of its input shape
    /// whose every convolution and pooling window fits.
    public func shapeProblem(input shape: [Int]) -> String? {
        let features = shape.reduce(1, *)
        guard features > 0 else { return "the examples hold no values" }
        switch self {
        case .mlp(let sizes):
            return sizes[0] == features ? nil : "it takes \(sizes[0]) input features"
        case .network(let input, let layers):
            guard shape.count == 3 else { return "it takes images (C x H x W), not flat features" }
            guard shape == input else { return "it takes \(input.map(String.init).joined(separator: "x")) images" }
            var (c, h, w) = (input[0], input[1], input[2])
            var convs = 0
            for spec in layers {
                switch spec {
                case .conv(let o, let k, let s, let p):
                    convs += 1
                    guard h + 2 * p >= k && w + 2 * p >= k else {
                        return "conv\(convs) (\(k)x\(k), padding \(p)) gets \(c)x\(h)x\(w) inputs, smaller than its kernel"
                    }
                    (c, h, w) = (o, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1)
                case .pool(let size):
                    guard h >= size && w >= size else { return "a \(size)x\(size) pooling gets \(c)x\(h)x\(w) inputs" }
                    (h, w) = (h / size, w / size)
                case .fc(let m):
                    (c, h, w) = (m, 1, 1)
                }
            }
            return nil
        case .graph(let input, let layers):
            guard shape.count == 3 else { return "it takes images (C x H x W), not flat features" }
            guard shape == input else { return "it takes \(input.map(String.init).joined(separator: "x")) images" }
            return ModelArchitecture.walk(input, layers).walk.problem
        }
    }
}
