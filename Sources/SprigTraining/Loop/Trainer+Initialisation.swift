import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity
import SprigModels
import SprigDistributed

/// Policies that draw their own initial masks and one-shot policies (SNIP)
/// decide before the first step.
extension Trainer {
    /// The policy's initial masks, computed on every rank and applied as rank 0's; the weights
    /// of the sparse layers are then initialised again for their new masks (unless the policy
    /// gives their values itself), and the policy settles them.
    func drawInitialMasks(_ policy: MaskPolicy) {
        let sparse = model.sparseLayers, layers = sparse.map(\.layer)
        let mine = policy.initialMasks(layers)
        trainingStep.synchronizer.apply(to: layers) { mine }
        if policy.reinitialisesWeights {
            for (index, layer) in sparse { layer.initialize(config.initializer, seed: config.seed, layerIndex: index) }
        }
        policy.settle(layers)
    }

    /// A one-shot policy's decision at initialisation (SNIP): every sparse layer is made
    /// dense with its initial weights (SNIP's sensitivity is that of the dense network,
    /// c = 1), the dense gradients of the first global batch go to the policy, which keeps
    /// each layer's budget, and the kept weights keep their initial values.
    func decideAtInitialisation(_ policy: MaskPolicy, batch: LocalBatch) {
        let sparse = model.sparseLayers
        // Every layer dense: a diff that grows every inactive connection, the same on every
        // rank (computed from the mask alone), applied as any mask diff is.
        MaskDiff.apply(sparse.enumerated().map { l, entry in
            let active = Set(entry.layer.pattern.activeIndices)
            return MaskDiff(sparseLayer: l, dropped: [],
                            grown: (0..<(entry.layer.inputFeatures * entry.layer.outputFeatures)).filter { !active.contains($0) })
        }, to: sparse.map(\.layer))
        for (index, layer) in sparse { layer.initialize(config.initializer, seed: config.seed, layerIndex: index) }
        let reduced = trainingStep.accumulateGradients(batch, dense: true)
        let context = MaskContext(layers: sparse.map(\.layer), store: model.store, step: 0, denseGradients: reduced.denseGradients)
        trainingStep.synchronizer.update(policy, context: context)
        trainingStep.tree.endStep()
        for (index, layer) in sparse { layer.initialize(config.initializer, seed: config.seed, layerIndex: index) }
    }
}
