import SprigTensor
import SprigModels
import Yams

/// A model written in the config as a list of layers and blocks (`LayerNode`), read and
/// written back:
///
///     model:
///       name: my-resnet                       # optional (reports, exports); not a zoo name
///       layers:
///         - conv: {name: conv1, channels: 16, kernel: 3, stride: 1, padding: 1, bias: false}
///         - batch_norm: bn1                   # over the channels (or a linear layer's features)
///         - relu
///         - max_pool: 2
///         - dropout: 0.3                      # training only, stateless masks
///         - residual:                         # after(body(h) + shortcut(h)), h = before(x)
///             name: layer1.0
///             body: [{conv: {name: conv1, channels: 16, kernel: 3, padding: 1, bias: false}},
///                    {batch_norm: bn1}, relu, {conv: {...}}, {batch_norm: bn2}]
///             shortcut: [...]                 # absent or null: the identity
///             before: [...]                   # optional
///             after: [relu]                   # optional
///         - global_avg_pool
///         - linear: {name: fc, outputs: 10}   # bias: true by default
///
/// Names are PyTorch module names (letters, digits, `_`, dot-separated); a weight layer or
/// batch norm without one is called `convN`, `bnN` or `fcN` by its rank in its list. The
/// input shape comes from the data; the last linear layer's outputs must be its classes.
/// `configs/models/resnet-20.yaml` spells out the zoo's `resnet-20` this way.
enum LayerListYAML {
    static func parse(_ r: ConfigReader, key: String) throws -> [LayerNode] {
        guard let items = try r.list(key) else { throw r.error(key, "a model mapping needs its 'layers' (a list of layers and blocks)") }
        return try parse(items, r: r, path: r.qualified(key))
    }

    private static func parse(_ items: [Node], r: ConfigReader, path: String) throws -> [LayerNode] {
        var counts: [String: Int] = [:], names: Set<String> = []
        func fail(_ at: String, _ message: String) -> SprigError { SprigError(r.source, "\(at): \(message)") }
        func name(_ given: String?, kind: String, at: String) throws -> String {
            counts[kind, default: 0] += 1
            let n = given ?? "\(kind)\(counts[kind]!)"
            let parts = n.split(separator: ".", omittingEmptySubsequences: false)
            guard !n.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } }) else {
                throw fail(at, "'\(n)' is not a module name (letters, digits and _, dot-separated)")
            }
            guard names.insert(n).inserted else { throw fail(at, "the name '\(n)' is used twice") }
            return n
        }
        var nodes: [LayerNode] = []
        for (i, item) in items.enumerated() {
            let at = "\(path)[\(i)]"
            if let word = item.scalar?.string {
                switch word {
                case "relu": nodes.append(.relu)
                case "global_avg_pool": nodes.append(.globalAveragePool)
                case "batch_norm": nodes.append(.batchNorm(name: try name(nil, kind: "bn", at: at)))
                default: throw fail(at, "unknown layer '\(word)' (known: conv, batch_norm, relu, max_pool, dropout, global_avg_pool, linear, residual)")
                }
                continue
            }
            guard item.mapping?.count == 1, let kind = item.mapping!.keys.first?.string else {
                throw fail(at, "a layer is a word (relu, global_avg_pool) or a mapping of one kind to its settings ({conv: {...}})")
            }
            let layer = try ConfigReader(node: Node.mapping(item.mapping!), source: r.source, path: at)
            func positive(_ s: ConfigReader, _ key: String, _ value: Int?, least: Int = 1) throws -> Int {
                guard let value else { throw s.error(key, "missing") }
                guard value >= least else { throw s.error(key, "must be at least \(least), got \(value)") }
                return value
            }
            switch kind {
            case "conv":
                guard let s = try layer.section("conv") else { throw layer.error("conv", "needs {channels, kernel, ...}") }
                let node = LayerNode.conv(name: try name(try s.string("name"), kind: "conv", at: s.path),
                                          channels: try positive(s, "channels", try s.int("channels")),
                                          kernel: try positive(s, "kernel", try s.int("kernel")),
                                          stride: try positive(s, "stride", try s.int("stride") ?? 1),
                                          padding: try positive(s, "padding", try s.int("padding") ?? 0, least: 0),
                                          bias: try s.bool("bias") ?? true)
                try s.rejectUnknownKeys()
                nodes.append(node)
            case "batch_norm":
                nodes.append(.batchNorm(name: try name(try layer.string("batch_norm"), kind: "bn", at: at)))
            case "max_pool":
                nodes.append(.maxPool(size: try positive(layer, "max_pool", try layer.int("max_pool"))))
            case "dropout":
                guard let rate = try layer.double("dropout") else { throw layer.error("dropout", "needs a rate") }
                guard rate >= 0 && rate < 1 else { throw layer.error("dropout", "must be in [0, 1), got \(rate)") }
                nodes.append(.dropout(rate: rate))
            case "linear":
                guard let s = try layer.section("linear") else { throw layer.error("linear", "needs {outputs, ...}") }
                let node = LayerNode.linear(name: try name(try s.string("name"), kind: "fc", at: s.path),
                                            outputs: try positive(s, "outputs", try s.int("outputs")), bias: try s.bool("bias") ?? true)
                try s.rejectUnknownKeys()
                nodes.append(node)
            case "residual":
                guard let s = try layer.section("residual") else { throw layer.error("residual", "needs {name, body, ...}") }
                let blockName = try name(try s.string("name"), kind: "block", at: s.path)
                func part(_ key: String) throws -> [LayerNode]? {
                    try s.list(key).map { try parse($0, r: r, path: s.qualified(key)) }
                }
                guard let body = try part("body"), !body.isEmpty else { throw s.error("body", "a block needs a body (a list of layers)") }
                let shortcut = try part("shortcut")
                for (key, list) in [("body", body), ("shortcut", shortcut ?? [])] where list.first == .relu || list.last == .relu {
                    throw s.error(key, "may not start or end with relu (put it in before or after)")
                }
                let before = try part("before") ?? [], after = try part("after") ?? []
                try s.rejectUnknownKeys()
                // The layers of a block share its namespace: before, body, shortcut and after.
                var inner: Set<String> = []
                for n in (before + body + (shortcut ?? []) + after).compactMap(\.moduleName) where !inner.insert(n).inserted {
                    throw s.error("body", "the name '\(n)' is used twice in the block")
                }
                nodes.append(.residual(name: blockName, before: before, body: body, shortcut: shortcut, after: after))
            default:
                throw fail(at, "unknown layer '\(kind)' (known: conv, batch_norm, relu, max_pool, dropout, global_avg_pool, linear, residual)")
            }
            try layer.rejectUnknownKeys()
        }
        return nodes
    }

    /// The list in flow style, as `parse` reads it.
    static func yaml(_ nodes: [LayerNode]) -> String {
        "[" + nodes.map { node -> String in
            switch node {
            case .conv(let name, let c, let k, let s, let p, let bias):
                return "{conv: {name: \"\(name)\", channels: \(c), kernel: \(k), stride: \(s), padding: \(p), bias: \(bias)}}"
            case .batchNorm(let name): return "{batch_norm: \"\(name)\"}"
            case .relu: return "relu"
            case .maxPool(let size): return "{max_pool: \(size)}"
            case .dropout(let rate): return "{dropout: \(rate)}"
            case .globalAveragePool: return "global_avg_pool"
            case .linear(let name, let m, let bias): return "{linear: {name: \"\(name)\", outputs: \(m), bias: \(bias)}}"
            case .residual(let name, let before, let body, let shortcut, let after):
                return "{residual: {name: \"\(name)\", before: \(yaml(before)), body: \(yaml(body)), shortcut: "
                    + (shortcut.map(yaml) ?? "null") + ", after: \(yaml(after))}}"
            }
        }.joined(separator: ", ") + "]"
    }
}

extension LayerNode {
    /// The module name of a layer that has one.
    var moduleName: String? {
        switch self {
        case .conv(let name, _, _, _, _, _), .batchNorm(let name), .linear(let name, _, _), .residual(let name, _, _, _, _): return name
        case .relu, .maxPool, .dropout, .globalAveragePool: return nil
        }
    }
}
