/// SNIP (Lee, Ajanthan, Torr, "SNIP: single-shot network pruning based on connection
/// sensitivity", ICLR 2019): before training, score every connection of a sparse layer by
/// its saliency `|g * w|` (dense gradient of the loss on one batch times the initial
/// weight) and keep the `n` best, n being the layer's budget from the distribution.
public enum SNIP {
    /// The diffs that turn each layer's current (random) mask into SNIP's. `initialWeights`
    /// gives a layer's dense initial matrix; the store must hold dense gradients.
    public static func decide(layers: [SparseLinear], store: ParameterStore, seed: UInt64,
                              initialWeights: (Int) -> [Float]) -> [MaskDiff] {
        layers.enumerated().map { l, layer in
            guard let g = store.slot(layer.weightIndex).denseGradients else { preconditionFailure("SNIP needs dense gradients") }
            let w = initialWeights(l)
            let total = layer.inputFeatures * layer.outputFeatures
            let keep = TopK(seed: seed, purpose: .grow, step: 0, layer: l)
                .largest(layer.pattern.activeCount, count: total, score: { abs(g[$0] * w[$0]) })
            let old = Set(layer.pattern.activeIndices), new = Set(keep)
            return MaskDiff(layer: l, dropped: old.subtracting(new).sorted(), grown: new.subtracting(old).sorted())
        }
    }
}
