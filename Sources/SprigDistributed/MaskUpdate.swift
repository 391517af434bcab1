import SprigLayers
import SprigSparsity

/// A mask update as one transaction, the only way masks change during training: the
/// drops, computed once on every rank from the weights (`MaskPolicy.drops`); every rank's
/// growth proposals, gathered for rank 0 (RigL's `|dL/dW|` shares); rank 0's decision;
/// its broadcast; the same diffs applied on every rank; and the policy's `settle`. The
/// training step, SNIP's one shot and NNrelief's rounds all go through it, so masks stay
/// identical on every replica (docs/ARCHITECTURE.md, "The life of one RigL update step").
extension MaskSynchronizer {
    /// Runs `policy`'s update on `context` and returns the diffs every rank applied.
    @discardableResult
    public func update(_ policy: MaskPolicy, context: MaskContext) -> [MaskDiff] {
        var context = context
        context.drops = policy.drops(context)
        if let proposals = policy.proposeGrowth(context) { context.candidates = gatherCandidates(proposals) }
        let diffs = apply(to: context.layers) { policy.decide(context) }
        policy.settle(context.layers)
        return diffs
    }

    /// Runs `decide` on rank 0 only, and applies its diffs to `layers` on every rank.
    @discardableResult
    public func apply(to layers: [SparseLinear], decide: () -> [MaskDiff]) -> [MaskDiff] {
        let diffs = share(decide: decide)
        MaskDiff.apply(diffs, to: layers)
        return diffs
    }
}
