import SprigTensor
import SprigLayers

/// Top-KAST (Jayakumar, Pascanu, Rae, Osindero, Elsen, "Top-KAST: Top-K always sparse
/// training", NeurIPS 2020): the forward pass uses the forward set A, the top `D N` weights
/// of a layer by `|theta|`, and the backward pass updates the larger backward set B, the
/// top `D_B N` (`D_B = min(1, m D)`, m = `backward_density_multiple`). No dense gradient is
/// ever computed; the weights outside B keep their values in a dense copy `theta` and may
/// re-enter when the weights of B shrink below them.
///
/// In Sprig a layer's mask is B, and the weights of `B \ A` hold zero in the model, so the
/// forward pass, evaluation and export see A alone; their true values live in `theta`. Each
/// step, after the optimizer, the update the optimizer gave a weight of `B \ A` (from zero)
/// is added to `theta` and the weight is zeroed again, so their optimizer state follows them.
/// Before the optimizer, the exploration penalty of the paper (section 2.3) is added to the
/// gradients: `lambda theta` on A and `lambda theta / D` on `B \ A`
/// (`exploration_decay`; set `optimizer.weight_decay: 0` for the paper's regulariser alone).
/// Every `delta_t` steps of the schedule the sets are chosen again from `theta` (brought up
/// to date from the model first): B and A are the top `D_B N` and `D N` by `|theta|`, ties
/// by a key from (seed, grow, step, layer), so A is within B. Weights that enter B take their
/// value in `theta` (zero optimizer state). The layers start dense, initialised as the dense
/// model, and `theta` starts as those weights. Training FLOPs per example are
/// `2 f_A + f_B`: the forward pass and the input gradients over A, the weight gradients
/// over B: the layers multiply by A alone in the forward pass and the input gradient
/// (`SparseLinear.setForwardSet`, declared here after each update; convolutions on their
/// own kernels, and layers on dense math, multiply by B, whose other weights are zero). The
/// paper's pairs: forward 80% / backward 50%, 90% / 80%, 95% / 90% sparse.
public final class TopKAST: MaskPolicy, MethodDefinition {
    public static let name = "topkast"
    public static let summary = "forward on the top-K weights by |w|, backward on a larger top-K (Jayakumar et al. 2020)"
    public static let options = [
        MethodOption("backward_density_multiple", default: 2, summary: "Top-KAST's backward set over its forward set, D_B / D",
                     check: MethodOption.within(1, 1000)),
        MethodOption("exploration_decay", default: 1e-4, summary: "Top-KAST's lambda: penalty lambda w on A and lambda w / D on B \\ A",
                     check: MethodOption.within(0, 1)),
    ]

    public static func traits(_ options: MethodOptions) -> MethodTraits {
        var traits = MethodTraits()
        traits.startsDense = true
        traits.changesMasks = true
        traits.memoryFollowsActiveWeights = false
        return traits
    }

    public static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy? {
        TopKAST(schedule: inputs.schedule, seed: inputs.seed, forwardDensities: inputs.prunedSparsities.map { 1 - $0 },
                backwardMultiple: inputs.options["backward_density_multiple"], explorationDecay: inputs.options["exploration_decay"])
    }

    public let schedule: DropFractionSchedule
    public let seed: UInt64
    /// Each sparse layer's forward density D.
    public let forwardDensities: [Double]
    public let backwardMultiple: Double
    public let explorationDecay: Float
    /// Each layer's dense `theta` (out x in, row-major).
    var theta: [[Float]] = []
    /// Each layer's weights of `B \ A`: flags over its active list (CSR order).
    var hidden: [[Bool]] = [] {
        didSet { shares = hidden.map { flags in flags.isEmpty ? 1 : Double(flags.lazy.filter { !$0 }.count) / Double(flags.count) } }
    }
    /// Each layer's `|A| / |B|`.
    private var shares: [Double] = []

    public init(schedule: DropFractionSchedule, seed: UInt64, forwardDensities: [Double], backwardMultiple: Double = 2,
                explorationDecay: Double = 1e-4) {
        self.schedule = schedule
        self.seed = seed
        self.forwardDensities = forwardDensities
        self.backwardMultiple = backwardMultiple
        self.explorationDecay = Float(explorationDecay)
    }

    public func updatesMasks(atStep t: Int) -> Bool { schedule.isUpdateStep(t) }
    public var drawsInitialMasks: Bool { true }
    public var reinitialisesWeights: Bool { false }

    /// The sizes of A and B in layer l.
    func counts(_ l: Int, _ layer: SparseLinear) -> (forward: Int, backward: Int) {
        let total = layer.inputFeatures * layer.outputFeatures
        let forward = SparsityDistribution.activeCount(count: total, sparsity: 1 - forwardDensities[l])
        return (forward, min(total, SparsityDistribution.activeCount(count: total, sparsity: max(0, 1 - backwardMultiple * forwardDensities[l]))))
    }

    /// The top `k` positions of layer l by `|theta|` at step t.
    func top(_ k: Int, layer l: Int, step t: Int) -> [Int] {
        let w = theta[l]
        return TopK(seed: seed, purpose: .grow, step: t, layer: l).largest(k, count: w.count, score: { abs(w[$0]) })
    }

    /// Calls `body(k, p)` for each active weight of `layer`: its index k in CSR order and its
    /// position p.
    @inline(__always)
    func forEachActive(_ layer: SparseLinear, _ body: (Int, Int) -> Void) {
        let pattern = layer.pattern, cols = layer.inputFeatures
        for r in 0..<layer.outputFeatures {
            for k in Int(pattern.rowStart[r])..<Int(pattern.rowStart[r + 1]) { body(k, r * cols + Int(pattern.columns[k])) }
        }
    }

    /// `theta` from the dense initial weights; B from it.
    public func initialMasks(_ layers: [SparseLinear]) -> [MaskDiff] {
        theta = layers.map { layer in
            var dense = [Float](repeating: 0, count: layer.inputFeatures * layer.outputFeatures)
            for (k, p) in layer.pattern.activeIndices.enumerated() { dense[p] = layer.activeWeights[k] }
            return dense
        }
        return decide(layers: layers, step: 0)
    }

    public func decide(_ context: MaskContext) -> [MaskDiff] { decide(layers: context.layers, step: context.step) }

    func decide(layers: [SparseLinear], step t: Int) -> [MaskDiff] {
        layers.enumerated().map { l, layer in
            let new = Set(top(counts(l, layer).backward, layer: l, step: t)), old = Set(layer.pattern.activeIndices)
            return MaskDiff(sparseLayer: l, dropped: old.subtracting(new).sorted(), grown: new.subtracting(old).sorted())
        }
    }

    /// A is chosen again, as the top `D N` by `|theta|` of B (with B's keys, so it is B's own
    /// top); its weights take their values, those of `B \ A` zero.
    public func settle(_ layers: [SparseLinear]) {
        hidden = layers.enumerated().map { l, layer in
            let active = layer.pattern.activeIndices, w = theta[l]
            var flags = [Bool](repeating: true, count: active.count)
            for k in TopK(seed: seed, purpose: .grow, step: 0, layer: l)
                .largest(counts(l, layer).forward, count: active.count, score: { abs(w[active[$0]]) }) { flags[k] = false }
            layer.updateActiveWeights { weights in forEachActive(layer) { k, p in weights[k] = flags[k] ? 0 : w[p] } }
            return flags
        }
        declareForwardSets(layers)
    }

    /// True when the layers do not know their forward sets: after a checkpoint's state, until
    /// the next optimizer step (the step before multiplies by B, whose other weights are zero).
    private var forwardSetsPending = false

    /// Tells each layer its forward set A (`SparseLinear.setForwardSet`).
    func declareForwardSets(_ layers: [SparseLinear]) {
        for (l, layer) in layers.enumerated() { layer.setForwardSet(hidden[l].indices.filter { !hidden[l][$0] }) }
        forwardSetsPending = false
    }

    public func adjustGradients(_ context: MaskContext) {
        guard explorationDecay > 0 else { return }
        for (l, layer) in context.layers.enumerated() {
            guard let g = context.gradient(l) else { return }
            let weights = layer.activeWeights, flags = hidden[l]
            let onA = explorationDecay, onRest = explorationDecay / Float(forwardDensities[l])
            theta[l].withUnsafeBufferPointer { w in
                forEachActive(layer) { k, p in g[k] += flags[k] ? onRest * w[p] : onA * weights[k] }
            }
        }
    }

    /// The update of `B \ A` goes into `theta`; before a mask update, A's values too.
    public func afterOptimizerStep(_ context: MaskContext) {
        let updating = updatesMasks(atStep: context.step)
        for (l, layer) in context.layers.enumerated() {
            let flags = hidden[l]
            layer.updateActiveWeights { weights in
                theta[l].withUnsafeMutableBufferPointer { w in
                    forEachActive(layer) { k, p in
                        if flags[k] {
                            w[p] += weights[k]
                            weights[k] = 0
                        } else if updating {
                            w[p] = weights[k]
                        }
                    }
                }
            }
        }
        if forwardSetsPending { declareForwardSets(context.layers) }
    }

    public func forwardShare(_ l: Int) -> Double { l < shares.count ? shares[l] : 1 }

    /// `theta`, each layer's `B \ A` flags packed 32 to a word, and the layers' active
    /// counts (the words as float bit patterns, which a checkpoint keeps exactly).
    public var state: [[Float]] {
        get {
            let packed = hidden.map { flags in
                stride(from: 0, to: flags.count, by: 32).map { start in
                    var word: UInt32 = 0
                    for i in start..<min(start + 32, flags.count) where flags[i] { word |= 1 << UInt32(i - start) }
                    return Float(bitPattern: word)
                }
            }
            return theta + packed + [hidden.map { Float(bitPattern: UInt32($0.count)) }]
        }
        set {
            let n = (newValue.count - 1) / 2
            theta = Array(newValue[..<n])
            let counts = newValue[2 * n].map { Int($0.bitPattern) }
            hidden = (0..<n).map { l in
                let words = newValue[n + l]
                return (0..<counts[l]).map { i in words[i / 32].bitPattern & (1 << UInt32(i % 32)) != 0 }
            }
            forwardSetsPending = true
        }
    }

    public func stateCounts(_ layers: [SparseLinear]) -> [Int] {
        layers.map { $0.inputFeatures * $0.outputFeatures } + layers.map { ($0.pattern.activeCount + 31) / 32 } + [layers.count]
    }
}
