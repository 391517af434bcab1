import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity
import SprigModels
import SprigDistributed

/// Policies that draw their own initial masks (GraNet, SRigL) and one-shot policies (SNIP)
/// decide before the first step.
extension Trainer {
    /// The policy's initial masks, decided on rank 0 and applied on every rank; the weights
    /// of the sparse layers are then initialised again for their new masks.
    func drawInitialMasks(_ policy: MaskPolicy) {
        let sparse = model.sparseLayers
        trainingStep.synchronizer.apply(to: sparse.map(\.layer)) { policy.initialMasks(sparse.map(\.layer)) }
        for (index, layer) in sparse { layer.initialize(config.initializer, seed: config.seed, layerIndex: index) }
    }

    /// A one-shot policy's decision at initialisation (SNIP): every sparse layer is made
    /// dense with its initial weights (SNIP's sensitivity is that of the dense network,
    /// c = 1), the dense gradients of the first global batch go to the policy, which keeps
    /// each layer's budget, and the kept weights keep their initial values.
    func decideAtInitialisation(_ policy: MaskPolicy, batch: LocalBatch) {
        let sparse = model.sparseLayers
        for (index, layer) in sparse {
            layer.setPattern(.dense(rows: layer.outputFeatures, cols: layer.inputFeatures))
            layer.initialize(config.initializer, seed: config.seed, layerIndex: index)
        }
        let reduced = trainingStep.accumulateGradients(batch, dense: true)
        let context = MaskContext(layers: sparse.map(\.layer), store: model.store, step: 0, denseGradients: reduced.denseGradients)
        trainingStep.synchronizer.update(policy, context: context)
        trainingStep.tree.endStep()
        for (index, layer) in sparse { layer.initialize(config.initializer, seed: config.seed, layerIndex: index) }
    }
}
