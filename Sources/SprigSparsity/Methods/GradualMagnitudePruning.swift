import SprigTensor
import SprigLayers

/// Gradual magnitude pruning (Zhu & Gupta, "To prune, or not to prune", 2017): the
/// dense-to-sparse baseline. Starting dense, at each pruning step of the cubic schedule
/// (`CubicSparsitySchedule`: every `deltaT` steps from `begin`, and at `end`) the
/// smallest-magnitude active weights of each pruned layer are removed (`MagnitudeDrop`) so
/// that its sparsity follows
///
///     s_t = s_f + (s_i - s_f) (1 - (t - begin) / (end - begin))^3
///
/// from the initial `s_i` (0) to the final `s_f`. Layers shrink as they are pruned, and
/// switch from dense to sparse math once sparse enough; training cost is
/// `E_t[3 f_D (1 - s_t)]`.
public final class GradualMagnitudePruning: MaskPolicy, MethodDefinition {
    public static let name = "gmp"
    public static let summary = "gradual magnitude pruning, dense to sparse during training (Zhu & Gupta 2017)"

    public static func traits(_ options: MethodOptions) -> MethodTraits {
        var traits = MethodTraits()
        traits.startsDense = true
        traits.changesMasks = true
        traits.keepsCountPerLayer = false
        return traits
    }

    /// Pruning from `begin_step` to the schedule's end, every `delta_t` steps.
    public static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy? {
        let schedule = inputs.schedule
        return GradualMagnitudePruning(finalSparsities: inputs.prunedSparsities, begin: schedule.begin,
                                       end: max(schedule.end, schedule.begin + 1), deltaT: schedule.deltaT, seed: inputs.seed)
    }

    /// Final sparsity of each sparse layer (in the order of the model's sparse layers).
    public let finalSparsities: [Double]
    public let initialSparsity: Double
    public let schedule: CubicSparsitySchedule
    public let seed: UInt64

    public init(finalSparsities: [Double], initialSparsity: Double = 0, begin: Int, end: Int, deltaT: Int, seed: UInt64) {
        self.finalSparsities = finalSparsities
        self.initialSparsity = initialSparsity
        schedule = CubicSparsitySchedule(begin: begin, end: end, deltaT: deltaT)
        self.seed = seed
    }

    public func updatesMasks(atStep t: Int) -> Bool { schedule.isPruningStep(t) }

    /// The weights each layer drops at the context's step (after its optimizer step).
    public func decide(_ context: MaskContext) -> [MaskDiff] { decide(layers: context.layers, step: context.step) }

    /// The target sparsity of layer l at step t.
    public func sparsity(layer l: Int, at t: Int) -> Double {
        schedule.sparsity(at: t, initial: initialSparsity, final: finalSparsities[l])
    }

    /// The weights each layer drops at step t to reach its target sparsity.
    public func decide(layers: [SparseLinear], step t: Int) -> [MaskDiff] {
        layers.enumerated().map { l, layer in
            let total = layer.inputFeatures * layer.outputFeatures
            let target = SparsityDistribution.activeCount(count: total, sparsity: sparsity(layer: l, at: t))
            let drop = MagnitudeDrop(seed: seed).drop(downTo: target, from: layer, layer: l, step: t)
            return MaskDiff(sparseLayer: l, dropped: drop.dropped.sorted(), grown: [])
        }
    }
}
