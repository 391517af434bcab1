import SprigLayers

/// One layer's drop: its active positions before the update and the ones it drops (flat
/// positions `row * cols + col`).
public struct LayerDrop: Equatable {
    public var active: [Int]
    public var dropped: [Int]
    /// How many connections the layer grows back: as many as it dropped, or fewer when part
    /// of the drop is pruning.
    public var regrown: Int

    public init(active: [Int], dropped: [Int], regrown: Int? = nil) {
        self.active = active
        self.dropped = dropped
        self.regrown = regrown ?? dropped.count
    }
}

/// The drop rule of RigL, SET, SNFS and gradual magnitude pruning, which methods share: a layer
/// drops the `k` active weights with the smallest `|w|` (Han et al. 2015; RigL paper,
/// section 3). Ties are broken by a key drawn from the stream (seed, dropNoise, step,
/// layer), so the drop is a function of the weights and the step only and any rank can
/// compute it.
public struct MagnitudeDrop {
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// Layer l's drop of `k` weights at step t.
    public func drop(_ k: Int, from layer: SparseLinear, layer l: Int, step t: Int) -> LayerDrop {
        let active = layer.pattern.activeIndices
        guard k > 0 else { return LayerDrop(active: active, dropped: []) }
        let weights = layer.activeWeights
        let positions = TopK(seed: seed, purpose: .dropNoise, step: t, layer: l)
            .smallest(k, count: active.count, score: { abs(weights[$0]) })
        return LayerDrop(active: active, dropped: positions.map { active[$0] })
    }

    /// The positions of layer l's further drop of `k` weights at step t, among the active
    /// weights not already dropped (`excluded`: indices into its active list).
    public func drop(_ k: Int, from layer: SparseLinear, layer l: Int, step t: Int, excluding excluded: Set<Int>) -> [Int] {
        guard k > 0 else { return [] }
        let weights = layer.activeWeights, active = layer.pattern.activeIndices
        return TopK(seed: seed, purpose: .dropNoise, step: t, layer: l)
            .smallest(k, count: active.count, isCandidate: { !excluded.contains($0) }, score: { abs(weights[$0]) }).map { active[$0] }
    }

    /// Layer l's drop at step t down to `target` active weights (none when it has no more).
    public func drop(downTo target: Int, from layer: SparseLinear, layer l: Int, step t: Int) -> LayerDrop {
        drop(max(layer.pattern.activeCount - target, 0), from: layer, layer: l, step: t)
    }
}
