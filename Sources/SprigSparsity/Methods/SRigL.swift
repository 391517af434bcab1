import SprigTensor
import SprigLayers

/// SRigL (Lasby, Golubeva, Evci, Nica, Ioannou, "Dynamic sparse training with structured
/// sparsity", ICLR 2024): RigL with a constant fan-in per neuron and neuron ablation.
///
/// Every neuron (a row: an output of a fully connected layer, an output channel of a
/// convolution) has the same number k of active weights. With a layer's budget B (its
/// active count from the distribution), R rows and no ablation, `k_0 = floor(B / R)`, and
/// the initial mask draws k_0 random columns per row. At an update step t of the RigL
/// schedule, with n active weights, `n_drop = floor(f(t) n)` and `n_keep = n - n_drop`:
/// 1. ablation (`ablation`): the salient weights are the `n_keep` largest `|w|` among the
///    active ones and the `n_drop` largest `|dL/dW|` over the whole layer; a neuron with
///    fewer than `max(1, floor(gamma_sal k_0))` salient weights is ablated (no weights),
///    unless that would leave fewer neurons than `floor(B / cols)` could hold the budget
///    (then the threshold falls to that neuron's count); the fan-in becomes
///    `k = floor(B / (R - ablated))`;
/// 2. drop: keep the `n_keep` largest `|w|` of the weights of neurons that are not ablated,
///    then at most k per neuron (its largest);
/// 3. grow: fill each neuron that is not ablated up to k with its largest `|dL/dW|` among
///    the positions not kept (just-dropped ones included).
/// The classifier (the last sparse layer) is never ablated, as in the reference code
/// (calgaryml/condensed-sparsity). Grown weights start at zero, and the update replaces the
/// step's optimizer update, as RigL's. Rank 0 decides from the dense gradient held whole:
/// a neuron's fill depends on the fan-in, which depends on the whole layer's ablation, so
/// the ranks cannot propose by rows as for RigL.
public final class SRigL: MaskPolicy, MethodDefinition {
    public static let name = "srigl"
    public static let summary = "RigL with a constant fan-in per neuron and neuron ablation (Lasby et al. 2024)"
    public static let options = [
        MethodOption("gamma_sal", default: 0.3, summary: "SRigL's ablation threshold: the least share of k_0 salient weights a neuron keeps",
                     check: MethodOption.within(0, 1)),
        MethodOption("ablation", default: 1, isFlag: true, summary: "SRigL ablates neurons with too few salient weights"),
    ]

    public static func traits(_ options: MethodOptions) -> MethodTraits {
        var traits = MethodTraits()
        traits.changesMasks = true
        traits.denseGradients = .onUpdateSteps
        traits.keepsCountPerLayer = false
        return traits
    }

    public static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy? {
        SRigL(schedule: inputs.schedule, seed: inputs.seed, budgets: inputs.budgets, gammaSal: inputs.options["gamma_sal"],
              ablation: inputs.options.flag("ablation"))
    }

    public let schedule: DropFractionSchedule
    public let seed: UInt64
    /// Each sparse layer's budget B.
    public let budgets: [Int]
    public let gammaSal: Double
    public let ablation: Bool

    public init(schedule: DropFractionSchedule, seed: UInt64, budgets: [Int], gammaSal: Double = 0.3, ablation: Bool = true) {
        self.schedule = schedule
        self.seed = seed
        self.budgets = budgets
        self.gammaSal = gammaSal
        self.ablation = ablation
    }

    public func updatesMasks(atStep t: Int) -> Bool { schedule.isUpdateStep(t) }
    public func needsDenseGradients(atStep t: Int) -> Bool { schedule.isUpdateStep(t) }
    public var replacesOptimizerStep: Bool { true }
    public var drawsInitialMasks: Bool { true }

    /// Constant fan-in: `k_0` random columns in each row, from the stream (seed, maskInit, row, layer).
    public func initialMasks(_ layers: [SparseLinear]) -> [MaskDiff] {
        layers.enumerated().map { l, layer in
            let rows = layer.outputFeatures, cols = layer.inputFeatures
            let chosen = RandomMask.constantFanIn(rows: rows, cols: cols, fanIn: min(budgets[l] / rows, cols), seed: seed, layer: l)
            let new = Set(chosen), old = Set(layer.pattern.activeIndices)
            return MaskDiff(sparseLayer: l, dropped: old.subtracting(new).sorted(), grown: new.subtracting(old).sorted())
        }
    }

    public func decide(_ context: MaskContext) -> [MaskDiff] {
        context.layers.indices.map { l in
            guard let g = context.denseGradient(l) else { preconditionFailure("SRigL decides from the dense gradient") }
            return update(layer: l, context: context, gradient: g)
        }
    }

    /// Steps 1 to 3 for layer l.
    func update(layer l: Int, context: MaskContext, gradient g: UnsafeMutablePointer<Float>) -> MaskDiff {
        let layer = context.layers[l], t = context.step
        let rows = layer.outputFeatures, cols = layer.inputFeatures
        let active = layer.pattern.activeIndices, weights = layer.activeWeights
        let nDrop = schedule.count(at: t, active: active.count), nKeep = active.count - nDrop
        let budget = budgets[l]
        // 1. Ablation.
        var ablated = Set<Int>()
        // The n_keep largest |w| (indices into the active list), the first half of the
        // salient set and, when no neuron is ablated, the kept set of step 2.
        let heaviest = TopK(seed: seed, purpose: .dropNoise, step: t, layer: l)
            .largest(nKeep, count: active.count, score: { abs(weights[$0]) })
        if ablation && l < context.layers.count - 1 {
            let steepest = TopK(seed: seed, purpose: .grow, step: t, layer: l)
                .largest(nDrop, count: rows * cols, score: { abs(g[$0]) })
            var salient = [Int](repeating: 0, count: rows)
            for p in Set(heaviest.map { active[$0] }).union(steepest) { salient[p / cols] += 1 }
            var threshold = max(1, Int(gammaSal * Double(budget / rows)))
            let fewest = budget / cols
            if fewest >= 1 {
                let count = salient.sorted(by: >)[min(fewest, rows) - 1]
                if count < threshold { threshold = count }
            }
            ablated = Set((0..<rows).filter { salient[$0] < threshold })
        }
        let k = min(budget / max(rows - ablated.count, 1), cols)
        // 2. Drop: the n_keep largest |w| outside ablated rows, then at most k per row.
        var keep = heaviest
        if !ablated.isEmpty {
            var selection = TopK.Selection(nKeep, keys: TopK(seed: seed, purpose: .dropNoise, step: t, layer: l))
            for i in active.indices where !ablated.contains(active[i] / cols) { selection.offer(i, score: abs(weights[i])) }
            keep = selection.positions
        }
        var byRow = [[Int]](repeating: [], count: rows)
        for i in keep { byRow[active[i] / cols].append(i) }
        var kept = Set<Int>()
        for r in 0..<rows where !byRow[r].isEmpty {
            let row = byRow[r]
            let best = row.count <= k ? row : TopK(seed: seed, purpose: .dropNoise, step: t, layer: l)
                .largest(k, count: row.count, score: { abs(weights[row[$0]]) }).map { row[$0] }
            for i in best { kept.insert(active[i]) }
        }
        // 3. Grow each row that is not ablated to k by |dL/dW| among the positions not kept.
        var grown: [Int] = []
        let choose = TopK(seed: seed, purpose: .grow, step: t, layer: l)
        for r in 0..<rows where !ablated.contains(r) {
            let have = byRow[r].count < k ? byRow[r].count : k
            guard have < k else { continue }
            var selection = TopK.Selection(k - have, keys: choose)
            for c in 0..<cols where !kept.contains(r * cols + c) { selection.offer(r * cols + c, score: abs(g[r * cols + c])) }
            grown += selection.positions
        }
        let dropped = active.filter { !kept.contains($0) }
        return MaskDiff(sparseLayer: l, dropped: dropped, grown: grown.sorted())
    }
}
