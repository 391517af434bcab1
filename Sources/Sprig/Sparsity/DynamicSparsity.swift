/// The drop-and-grow mask updates of RigL, SET and SNFS.
///
/// At an update step t (`DropFractionSchedule`), in each sparse layer with n active
/// weights, `k = floor(f(t) n)`:
/// - drop: the k active weights with the smallest |w|;
/// - grow: among the connections not active after the drop (just-dropped ones included),
///   the k with the largest score: |dense gradient| (RigL), |EMA of the dense gradient|
///   with momentum 0.9 (SNFS), or a uniform random draw (SET).
/// So every layer keeps exactly n active weights. Grown weights and their optimizer state
/// start at zero. Every random draw (SET's scores, tie-breaking keys) comes from a stream
/// keyed by (seed, step, layer), so any rank reproduces any decision.
///
/// Following the reference code, a RigL or SNFS update replaces that step's optimizer
/// update; SET applies the optimizer step first, then the mask update.
public final class DynamicSparsity {
    public let method: SparseTrainingMethod
    public let schedule: DropFractionSchedule
    public let seed: UInt64
    /// SNFS's momentum for the moving average of dense gradients.
    public let snfsMomentum: Float
    /// SNFS's moving averages, one dense buffer per sparse layer.
    private var averages: [[Float]] = []

    public init(method: SparseTrainingMethod, schedule: DropFractionSchedule, seed: UInt64, snfsMomentum: Double = 0.9) {
        precondition(method.isDynamic, "\(method) does not update masks")
        self.method = method
        self.schedule = schedule
        self.seed = seed
        self.snfsMomentum = Float(snfsMomentum)
    }

    public func isUpdateStep(_ t: Int) -> Bool { schedule.isUpdateStep(t) }

    /// True when step t's backward pass must produce dense gradients: RigL on update
    /// steps, SNFS on every step (its moving average needs them), SET never.
    public func needsDenseGradient(atStep t: Int) -> Bool {
        switch method {
        case .rigl: return schedule.isUpdateStep(t)
        case .snfs: return true
        default: return false
        }
    }

    public var updateReplacesOptimizerStep: Bool { method != .set }

    /// Bytes of state (SNFS's averages).
    public var stateBytes: Int { averages.reduce(0) { $0 + $1.count * 4 } }

    /// Folds this step's dense gradients into SNFS's moving averages
    /// (`m = beta m + (1 - beta) g`); other methods keep no state.
    public func observe(layers: [SparseLinear], store: ParameterStore) {
        guard method == .snfs else { return }
        if averages.isEmpty {
            averages = layers.map { [Float](repeating: 0, count: $0.inputFeatures * $0.outputFeatures) }
        }
        let beta = snfsMomentum
        for (l, layer) in layers.enumerated() {
            guard let g = store.slot(layer.weightIndex).denseGradients else { preconditionFailure("SNFS needs dense gradients") }
            averages[l].withUnsafeMutableBufferPointer { m in
                for i in 0..<m.count { m[i] = beta * m[i] + (1 - beta) * g[i] }
            }
        }
    }

    /// The drop-and-grow decision for every sparse layer at step t.
    public func decide(layers: [SparseLinear], store: ParameterStore, step t: Int) -> [MaskDiff] {
        layers.enumerated().map { l, layer in
            let active = layer.pattern.activeIndices
            let k = schedule.count(at: t, active: active.count)
            guard k > 0 else { return MaskDiff(layer: l, dropped: [], grown: []) }
            let weights = layer.activeWeights
            var position: [Int: Int] = [:]
            position.reserveCapacity(active.count)
            for (p, index) in active.enumerated() { position[index] = p }
            var tieKeys = StatelessRandom(seed: seed, purpose: .dropNoise, step: t, layer: l)
            let dropped = TopK.smallest(k, of: active, score: { abs(weights[position[$0]!]) }, random: &tieKeys)
            let dropSet = Set(dropped)
            let kept = Set(active).subtracting(dropSet)
            let total = layer.inputFeatures * layer.outputFeatures
            let candidates = (0..<total).filter { !kept.contains($0) }
            var growKeys = StatelessRandom(seed: seed, purpose: .grow, step: t, layer: l)
            let grown: [Int]
            switch method {
            case .rigl:
                guard let g = store.slot(layer.weightIndex).denseGradients else { preconditionFailure("RigL needs dense gradients") }
                grown = TopK.largest(k, of: candidates, score: { abs(g[$0]) }, random: &growKeys)
            case .snfs:
                let m = averages[l]
                grown = TopK.largest(k, of: candidates, score: { abs(m[$0]) }, random: &growKeys)
            case .set:
                var draws = StatelessRandom(seed: seed, purpose: .maskInit, step: t, layer: l)
                var scoreOf = [Float](repeating: 0, count: total)
                for c in candidates { scoreOf[c] = draws.nextUniform() }
                grown = TopK.largest(k, of: candidates, score: { scoreOf[$0] }, random: &growKeys)
            default:
                preconditionFailure("\(method) does not update masks")
            }
            return MaskDiff(layer: l, dropped: dropped, grown: grown)
        }
    }
}
