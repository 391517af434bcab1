import SprigTensor
import SprigLayers
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
/// SNFS can also redistribute the budget between layers (`redistribute`, off by default as
/// in the RigL reference; on in TimDettmers/sparse_learning): the weights dropped in all
/// layers are regrown in proportion to each layer's mean |moving average| over its active
/// weights, capped by the layer's free connections, so layer sizes change while the total
/// stays fixed.
///
/// Following the reference code, a RigL update replaces that step's optimizer update; SET
/// and SNFS (sparse_learning) apply the optimizer step first, then the mask update.
public final class DynamicSparsity {
    public let method: SparseTrainingMethod
    public let schedule: DropFractionSchedule
    public let seed: UInt64
    /// SNFS's momentum for the moving average of dense gradients.
    public let snfsMomentum: Float
    /// SNFS only: move budget between layers at each update.
    public let redistribute: Bool
    /// SNFS's moving averages, one dense buffer per sparse layer (empty until the first
    /// step, and for other methods); part of a checkpoint.
    public var averages: [[Float]] = []

    public init(method: SparseTrainingMethod, schedule: DropFractionSchedule, seed: UInt64, snfsMomentum: Double = 0.9,
                redistribute: Bool = false) {
        precondition(method.isDynamic, "\(method) does not update masks")
        precondition(!redistribute || method == .snfs, "redistribution is an SNFS option")
        self.method = method
        self.schedule = schedule
        self.seed = seed
        self.snfsMomentum = Float(snfsMomentum)
        self.redistribute = redistribute
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

    public var updateReplacesOptimizerStep: Bool { method == .rigl }

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
        // Drop: the k smallest |w| of each layer.
        let drops: [(active: [Int], dropped: [Int])] = layers.enumerated().map { l, layer in
            let active = layer.pattern.activeIndices
            let k = schedule.count(at: t, active: active.count)
            let weights = layer.activeWeights
            let positions = TopK(seed: seed, purpose: .dropNoise, step: t, layer: l)
                .smallest(k, count: active.count, score: { abs(weights[$0]) })
            return (active, positions.map { active[$0] })
        }
        var growCounts = drops.map(\.dropped.count)
        if redistribute {
            growCounts = redistributedGrowth(layers: layers, drops: drops)
        }
        // Grow: the best-scoring connections not kept.
        return layers.enumerated().map { l, layer in
            let (active, dropped) = drops[l]
            let k = growCounts[l]
            guard k > 0 || !dropped.isEmpty else { return MaskDiff(layer: l, dropped: [], grown: []) }
            let total = layer.inputFeatures * layer.outputFeatures
            var kept = [Bool](repeating: false, count: total)
            for index in active { kept[index] = true }
            for index in dropped { kept[index] = false }
            let choose = TopK(seed: seed, purpose: .grow, step: t, layer: l)
            let grown: [Int] = kept.withUnsafeBufferPointer { kept in
                let isCandidate = { (i: Int) in !kept[i] }
                switch method {
                case .rigl:
                    guard let g = store.slot(layer.weightIndex).denseGradients else { preconditionFailure("RigL needs dense gradients") }
                    return choose.largest(k, count: total, isCandidate: isCandidate, score: { abs(g[$0]) })
                case .snfs:
                    return averages[l].withUnsafeBufferPointer { m in
                        choose.largest(k, count: total, isCandidate: isCandidate, score: { abs(m[$0]) })
                    }
                case .set:
                    // A uniform random score per connection, a hash of (seed, step, layer, index).
                    let draws = TopK(seed: seed, purpose: .maskInit, step: t, layer: l)
                    return choose.largest(k, count: total, isCandidate: isCandidate, score: { Float(draws.key($0) >> 40) })
                default:
                    preconditionFailure("\(method) does not update masks")
                }
            }
            return MaskDiff(layer: l, dropped: dropped.sorted(), grown: grown)
        }
    }

    /// SNFS redistribution: the K weights dropped over all layers are regrown in shares
    /// proportional to each layer's mean |moving average| over its active weights, each
    /// layer capped at its free connections; what the rounding and the caps leave goes to
    /// the layers with the largest remainders that still have room.
    func redistributedGrowth(layers: [SparseLinear], drops: [(active: [Int], dropped: [Int])]) -> [Int] {
        let total = drops.reduce(0) { $0 + $1.dropped.count }
        let stats: [Double] = layers.indices.map { l in
            let active = drops[l].active
            guard !active.isEmpty else { return 0 }
            return averages[l].withUnsafeBufferPointer { m in active.reduce(0.0) { $0 + Double(abs(m[$1])) } } / Double(active.count)
        }
        let capacity = layers.indices.map { l in
            layers[l].inputFeatures * layers[l].outputFeatures - (drops[l].active.count - drops[l].dropped.count)
        }
        let sum = stats.reduce(0, +)
        guard sum > 0 else { return drops.map(\.dropped.count) }
        let ideal = stats.map { Double(total) * $0 / sum }
        var counts = layers.indices.map { min(Int(ideal[$0].rounded(.down)), capacity[$0]) }
        var left = total - counts.reduce(0, +)
        while left > 0 {
            let open = layers.indices.filter { counts[$0] < capacity[$0] }
            guard !open.isEmpty else { break }
            let next = open.max { (ideal[$0] - Double(counts[$0]), -$0) < (ideal[$1] - Double(counts[$1]), -$1) }!
            counts[next] += 1
            left -= 1
        }
        return counts
    }
}
