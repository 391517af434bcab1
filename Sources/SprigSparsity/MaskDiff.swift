import SprigLayers
import SprigTensor

/// One layer's mask change: the flat indices (`row * cols + col`) dropped and grown. The
/// two sets may share an index: a connection dropped and grown again restarts at zero.
public struct MaskDiff: Equatable {
    /// The sparse layer index: the layer's position among the model's sparse layers
    /// (`Sequential.sparseLayers`), not its position in the model.
    public var sparseLayer: Int
    public var dropped: [Int]
    public var grown: [Int]
    /// Neurons whose bias is pruned (NNrelief): set to zero and kept there.
    public var prunedBiases: [Int]

    public init(sparseLayer: Int, dropped: [Int], grown: [Int], prunedBiases: [Int] = []) {
        self.sparseLayer = sparseLayer
        self.dropped = dropped
        self.grown = grown
        self.prunedBiases = prunedBiases
    }
}

extension MaskDiff {
    /// Applies each diff to the sparse layer it names (`layers` in sparse layer order).
    public static func apply(_ diffs: [MaskDiff], to layers: [SparseLinear]) {
        for diff in diffs where !(diff.dropped.isEmpty && diff.grown.isEmpty && diff.prunedBiases.isEmpty) {
            layers[diff.sparseLayer].apply(diff)
        }
    }
}

extension SparseLinear {
    /// Applies a decision: drops, then grows (grown connections start at zero, with zero
    /// optimizer state), then freezes the pruned biases.
    public func apply(_ diff: MaskDiff) {
        defer { freezeBiases(diff.prunedBiases) }
        guard !(diff.dropped.isEmpty && diff.grown.isEmpty) else { return }
        var active = Set(pattern.activeIndices)
        for d in diff.dropped {
            precondition(active.remove(d) != nil, "dropped index \(d) is not active")
        }
        for g in diff.grown {
            precondition(active.insert(g).inserted, "grown index \(g) is already active")
        }
        setPattern(SparsePattern(rows: outputFeatures, cols: inputFeatures, activeIndices: Array(active)), fresh: Set(diff.grown))
    }
}
