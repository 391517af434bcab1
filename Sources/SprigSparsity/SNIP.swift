import SprigTensor
import SprigLayers
/// SNIP (Lee, Ajanthan, Torr, "SNIP: single-shot network pruning based on connection
/// sensitivity", ICLR 2019): before training, score every connection of a sparse layer by
/// its connection sensitivity on one batch, `|dL/dc_j| = |g_j w_j|` at `c = 1`: the dense
/// gradient of the loss of the *dense* network (every connection present) times the initial
/// weight; keep the `n` best per layer, n being the layer's budget from the distribution.
public enum SNIP {
    /// The diffs that turn each layer's current mask into SNIP's, keeping `budgets[l]`
    /// connections of layer l. `initialWeights` gives a layer's dense initial matrix; the
    /// store must hold the dense gradients of the dense network (every layer fully active
    /// when they were computed, as `Trainer` does).
    public static func decide(layers: [SparseLinear], store: ParameterStore, budgets: [Int], seed: UInt64,
                              initialWeights: (Int) -> [Float]) -> [MaskDiff] {
        precondition(budgets.count == layers.count, "one budget per layer")
        return layers.enumerated().map { l, layer in
            guard let g = store.slot(layer.weightIndex).denseGradients else { preconditionFailure("SNIP needs dense gradients") }
            let w = initialWeights(l)
            let total = layer.inputFeatures * layer.outputFeatures
            let keep = TopK(seed: seed, purpose: .grow, step: 0, layer: l)
                .largest(budgets[l], count: total, score: { abs(g[$0] * w[$0]) })
            let old = Set(layer.pattern.activeIndices), new = Set(keep)
            return MaskDiff(layer: l, dropped: old.subtracting(new).sorted(), grown: new.subtracting(old).sorted())
        }
    }
}
