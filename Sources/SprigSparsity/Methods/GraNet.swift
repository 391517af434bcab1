import SprigTensor
import SprigLayers

/// GraNet (Liu, Chen, Chen, Atashgahi, Yin, Kou, Shen, Pechenizkiy, Wang, Mocanu, "Sparse
/// training via boosting pruning plasticity with neuroregeneration", NeurIPS 2021):
/// gradual magnitude pruning with zero-cost neuroregeneration, from dense or from sparse.
///
/// - Start: the sparse layers at the initial sparsity `s_i` (`initial_sparsity`; 0.5, the
///   reference's CIFAR setting, trains sparse to sparse; 0 starts dense), a random mask per
///   layer with the distribution's sparsities for `s_i`.
/// - At each pruning step t of the cubic schedule (`CubicSparsitySchedule`, from
///   `begin_step` every `delta_t` steps to the schedule's end), after the optimizer step:
///   1. global magnitude pruning: over all sparse layers together, the active weights with
///      the smallest `|w|` go until a fraction
///      `s_t = s_f + (s_i - s_f) (1 - (t - t_0) / (t_end - t_0))^3` of their positions is
///      pruned (`s_f` is the distribution's final sparsity of those layers);
///   2. neuroregeneration: each layer drops the `k = floor(f(t) n)` smallest `|w|` of its n
///      remaining weights (`f` the drop-fraction schedule) and grows k connections with the
///      largest `|dL/dW|` of the step (RigL's `GradientGrowth`), so regrowth costs no weights.
/// Grown weights start at zero. Where Sprig differs from the reference code
/// (VITA-Group/GraNet): regrowth happens on pruning steps only, as in the paper's algorithm
/// (the code goes on after the last one); `k` is floored (the code rounds up); and the drop
/// fraction follows `drop_schedule` to the schedule's end (the code's cosine runs over the
/// whole training down to 0.005). The reference's drop fraction is 0.5
/// (`configs/methods/granet-*.yaml` set it).
public final class GraNet: MaskPolicy, MethodDefinition {
    public static let name = "granet"
    public static let summary = "gradual magnitude pruning with zero-cost regrowth by |dense gradient| (Liu et al. 2021)"
    public static let options = [
        MethodOption("initial_sparsity", default: 0.5, summary: "s_i, the sparsity GraNet starts from (0: from dense)",
                     check: MethodOption.within(0, 1, highOpen: true)),
    ]

    public static func traits(_ options: MethodOptions) -> MethodTraits {
        var traits = MethodTraits()
        traits.startsDense = true
        traits.changesMasks = true
        traits.denseGradients = .onUpdateSteps
        traits.growsFromFactors = true
        traits.keepsCountPerLayer = false
        traits.memoryFollowsActiveWeights = options["initial_sparsity"] > 0
        return traits
    }

    public static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy? {
        let s = inputs.schedule
        let initial = inputs.options["initial_sparsity"]
        return GraNet(drops: s, pruning: CubicSparsitySchedule(begin: s.begin, end: max(s.end, s.begin + 1), deltaT: s.deltaT),
                      initialSparsities: initial > 0 ? inputs.sparsities(initial) : nil, finalSparsities: inputs.prunedSparsities,
                      seed: inputs.seed)
    }

    /// The drop fraction of regrowth, `f(t)`.
    public let dropSchedule: DropFractionSchedule
    public let pruning: CubicSparsitySchedule
    /// Each sparse layer's initial sparsity (nil: dense) and final sparsity.
    public let initialSparsities: [Double]?
    public let finalSparsities: [Double]
    public let seed: UInt64

    public init(drops: DropFractionSchedule, pruning: CubicSparsitySchedule, initialSparsities: [Double]?, finalSparsities: [Double],
                seed: UInt64) {
        dropSchedule = drops
        self.pruning = pruning
        self.initialSparsities = initialSparsities
        self.finalSparsities = finalSparsities
        self.seed = seed
    }

    public func updatesMasks(atStep t: Int) -> Bool { pruning.isPruningStep(t) }
    public func needsDenseGradients(atStep t: Int) -> Bool { pruning.isPruningStep(t) }

    public var drawsInitialMasks: Bool { initialSparsities != nil }

    /// Random masks at the initial sparsities, drawn from the stream (seed, maskInit, layer),
    /// from the dense layers the model starts with.
    public func initialMasks(_ layers: [SparseLinear]) -> [MaskDiff] {
        guard let initialSparsities else { return [] }
        return layers.enumerated().map { l, layer in
            let total = layer.inputFeatures * layer.outputFeatures
            var random = StatelessRandom(seed: seed, purpose: .maskInit, layer: l)
            let kept = Set(RandomMask.indices(count: SparsityDistribution.activeCount(count: total, sparsity: initialSparsities[l]),
                                              of: total, random: &random))
            return MaskDiff(sparseLayer: l, dropped: layer.pattern.activeIndices.filter { !kept.contains($0) }, grown: [])
        }
    }

    /// The sparsity of all sparse layers together: their sparsities weighted by their sizes.
    static func overall(_ sparsities: [Double], _ layers: [SparseLinear]) -> Double {
        let sizes = layers.map { Double($0.inputFeatures * $0.outputFeatures) }
        return zip(sparsities, sizes).reduce(0) { $0 + $1.0 * $1.1 } / sizes.reduce(0, +)
    }

    /// Step 1, global pruning, then step 2's drops; `regrown` is each layer's regrowth.
    public func drops(_ context: MaskContext) -> [LayerDrop]? {
        let layers = context.layers, t = context.step
        let positions = layers.reduce(0) { $0 + $1.inputFeatures * $1.outputFeatures }
        let initial = initialSparsities.map { Self.overall($0, layers) } ?? 0
        let target = SparsityDistribution.activeCount(
            count: positions, sparsity: pruning.sparsity(at: t, initial: initial, final: Self.overall(finalSparsities, layers)))
        let weights = layers.map(\.activeWeights)
        var offsets = [0]
        for w in weights { offsets.append(offsets.last! + w.count) }
        let k = max(offsets.last! - target, 0)
        // The k smallest |w| over all layers, keyed by their place in the layers' active lists.
        var pruned = [Set<Int>](repeating: [], count: layers.count)
        var selection = TopK.Selection(k, keys: TopK(seed: seed, purpose: .dropNoise, step: t, layer: layers.count))
        for l in layers.indices {
            let w = weights[l]
            for i in w.indices { selection.offer(offsets[l] + i, score: -abs(w[i])) }
        }
        for g in selection.positions {
            let l = offsets.lastIndex { $0 <= g }!
            pruned[l].insert(g - offsets[l])
        }
        let drop = MagnitudeDrop(seed: seed)
        return layers.enumerated().map { l, layer in
            let active = layer.pattern.activeIndices
            let regrowth = dropSchedule.count(at: t, active: active.count - pruned[l].count)
            let dropped = drop.drop(regrowth, from: layer, layer: l, step: t, excluding: pruned[l])
            return LayerDrop(active: active, dropped: pruned[l].map { active[$0] } + dropped, regrown: dropped.count)
        }
    }

    public func proposeGrowth(_ context: MaskContext) -> [[GrowthCandidate]]? {
        let drops = context.drops ?? drops(context)!, growth = GradientGrowth(seed: seed)
        return context.layers.enumerated().map { l, layer in
            growth.propose(drops[l].regrown, layer: l, kept: KeptPositions(pattern: layer.pattern, dropped: drops[l].dropped), context: context)
        }
    }

    public func decide(_ context: MaskContext) -> [MaskDiff] {
        let drops = context.drops ?? drops(context)!, growth = GradientGrowth(seed: seed)
        return context.layers.indices.map { l in
            let grown = growth.pick(drops[l].regrown, layer: l, by: TopK(seed: seed, purpose: .grow, step: context.step, layer: l),
                                    context: context)
            return MaskDiff(sparseLayer: l, dropped: drops[l].dropped.sorted(), grown: grown)
        }
    }
}
