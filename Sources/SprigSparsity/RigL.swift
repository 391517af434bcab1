import SprigLayers

/// RigL (Evci, Gale, Menick, Castro, Elsen, "Rigging the lottery: making all tickets
/// winners", ICML 2020): grow the connections with the largest |dense gradient|
/// `|dL/dW_ij|` of the update step's global batch. The dense gradient is computed on update
/// steps only, and, following the reference code, the update replaces that step's
/// optimizer update.
public final class RigL: DropAndGrow {
    public override func needsDenseGradients(atStep t: Int) -> Bool { schedule.isUpdateStep(t) }
    public override var replacesOptimizerStep: Bool { true }

    public override func grow(_ k: Int, layer l: Int, among isCandidate: (Int) -> Bool, by choose: TopK,
                              context: MaskContext) -> [Int] {
        guard let g = context.denseGradient(l) else { preconditionFailure("RigL needs dense gradients") }
        let layer = context.layers[l]
        return choose.largest(k, count: layer.inputFeatures * layer.outputFeatures, isCandidate: isCandidate, score: { abs(g[$0]) })
    }
}
