import SprigTensor
import SprigLayers

/// SNIP (Lee, Ajanthan, Torr, "SNIP: single-shot network pruning based on connection
/// sensitivity", ICLR 2019): before training, score every connection of a sparse layer by
/// its connection sensitivity on one batch, `|dL/dc_j| = |g_j w_j|` at `c = 1`: the dense
/// gradient of the loss of the *dense* network (every connection present) times the initial
/// weight; keep the `n` best per layer, n being the layer's budget from the distribution.
public final class SNIP: MaskPolicy, MethodDefinition {
    public static let name = "snip"
    public static let summary = "keep the largest |g w| of the dense network on one batch, then a fixed mask (Lee et al. 2019)"

    public static func traits(_ options: MethodOptions) -> MethodTraits { MethodTraits() }
    public static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy? { SNIP(budgets: inputs.budgets, seed: inputs.seed) }

    /// Each sparse layer's number of connections to keep.
    public let budgets: [Int]
    public let seed: UInt64

    public init(budgets: [Int], seed: UInt64) {
        self.budgets = budgets
        self.seed = seed
    }

    /// The one shot is run by the trainer before the first step (`decidesAtInitialisation`),
    /// not by the training step.
    public func updatesMasks(atStep t: Int) -> Bool { false }
    public var decidesAtInitialisation: Bool { true }

    /// The one shot, on a model whose sparse layers are fully active with their initial
    /// weights and whose dense gradients are those of the first batch (see `Trainer`).
    public func decide(_ context: MaskContext) -> [MaskDiff] {
        SNIP.decide(context, budgets: budgets, seed: seed) { l in
            let layer = context.layers[l]
            precondition(layer.pattern.activeCount == layer.inputFeatures * layer.outputFeatures, "SNIP scores the dense network")
            return Array(layer.activeWeights) // fully active: position = flat index
        }
    }

    /// The diffs that turn each layer's current mask into SNIP's, keeping `budgets[l]`
    /// connections of layer l. `initialWeights` gives a layer's dense initial matrix;
    /// `context.denseGradients` must be the dense network's (every layer fully active when
    /// they were computed, as `Trainer` does).
    public static func decide(_ context: MaskContext, budgets: [Int], seed: UInt64,
                              initialWeights: (Int) -> [Float]) -> [MaskDiff] {
        precondition(budgets.count == context.layers.count, "one budget per layer")
        return context.layers.enumerated().map { l, layer in
            guard let g = context.denseGradient(l) else { preconditionFailure("SNIP needs dense gradients") }
            let w = initialWeights(l)
            let total = layer.inputFeatures * layer.outputFeatures
            let keep = TopK(seed: seed, purpose: .grow, step: 0, layer: l)
                .largest(budgets[l], count: total, score: { abs(g[$0] * w[$0]) })
            let old = Set(layer.pattern.activeIndices), new = Set(keep)
            return MaskDiff(sparseLayer: l, dropped: old.subtracting(new).sorted(), grown: new.subtracting(old).sorted())
        }
    }
}
