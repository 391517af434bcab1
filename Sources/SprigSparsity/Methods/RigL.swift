import SprigLayers

/// RigL (Evci, Gale, Menick, Castro, Elsen, "Rigging the lottery: making all tickets
/// winners", ICML 2020): at each update step, drop the `k = floor(f(t) n)` active weights
/// with the smallest `|w|` (`MagnitudeDrop`) and grow the `k` free connections with the
/// largest `|dL/dW_ij|` of the update step's global batch (`GradientGrowth`, spread over
/// ranks). The dense gradient is computed on update steps only, and, following the
/// reference code, the update replaces that step's optimizer update.
public final class RigL: DropAndGrow, MethodDefinition {
    public static let name = "rigl"
    public static let summary = "drop the smallest |w|, grow the largest |dense gradient| (Evci et al. 2020)"

    public static func traits(_ options: MethodOptions) -> MethodTraits {
        var traits = MethodTraits()
        traits.changesMasks = true
        traits.denseGradients = .onUpdateSteps
        traits.growsFromFactors = true
        return traits
    }

    public static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy? { RigL(schedule: inputs.schedule, seed: inputs.seed) }

    public override func needsDenseGradients(atStep t: Int) -> Bool { schedule.isUpdateStep(t) }
    public override var replacesOptimizerStep: Bool { true }

    public override func proposeGrowth(_ context: MaskContext) -> [[GrowthCandidate]]? {
        let drops = computedDrops(context), growth = GradientGrowth(seed: seed)
        return context.layers.enumerated().map { l, layer in
            growth.propose(drops[l].dropped.count, layer: l, kept: KeptPositions(pattern: layer.pattern, dropped: drops[l].dropped),
                           context: context)
        }
    }

    public override func grow(_ k: Int, layer l: Int, kept: KeptPositions, by choose: TopK, context: MaskContext) -> [Int] {
        GradientGrowth(seed: seed).pick(k, layer: l, by: choose, context: context)
    }
}
