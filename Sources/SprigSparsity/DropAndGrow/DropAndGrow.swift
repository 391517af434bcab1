import SprigLayers

/// The drop-and-grow mask update that RigL, SET and SNFS share: the drop rule
/// (`MagnitudeDrop`) combined with each subclass's grow rule, as google-research/rigl's
/// `SparseRigLOptimizer` overrides only the grow score of the shared update.
///
/// At an update step t (`DropFractionSchedule`), in each sparse layer with n active
/// weights, `k = floor(f(t) n)`:
/// - drop: the k active weights with the smallest |w|;
/// - grow: among the connections not active after the drop (just-dropped ones included),
///   the k with the largest grow score (`grow(_:layer:kept:by:context:)`).
/// So every layer keeps exactly n active weights (SNFS with redistribution moves budget
/// between layers and keeps only the total). Grown weights and their optimizer state
/// start at zero. Every random draw (SET's scores, tie-breaking keys) comes from a stream
/// keyed by (seed, step, layer), so any rank reproduces any decision.
open class DropAndGrow: MaskPolicy {
    public let schedule: DropFractionSchedule
    public let seed: UInt64
    public let drop: MagnitudeDrop

    public init(schedule: DropFractionSchedule, seed: UInt64) {
        self.schedule = schedule
        self.seed = seed
        drop = MagnitudeDrop(seed: seed)
    }

    public func updatesMasks(atStep t: Int) -> Bool { schedule.isUpdateStep(t) }
    // The protocol's defaults, declared again here so that subclasses can override them (a
    // protocol extension's default is not dispatched through the class).
    open func needsDenseGradients(atStep t: Int) -> Bool { false }
    open var replacesOptimizerStep: Bool { false }
    open var decidesAtInitialisation: Bool { false }
    open func observe(_ context: MaskContext) {}
    open var state: [[Float]] {
        get { [] }
        set {}
    }
    open func stateCounts(_ layers: [SparseLinear]) -> [Int] { [] }

    /// Growth proposals (every rank, before rank 0 decides): nil unless the grow score is
    /// spread over ranks (RigL).
    open func proposeGrowth(_ context: MaskContext) -> [[GrowthCandidate]]? { nil }

    /// The `k` connections layer l grows: the best-scoring free positions (not in `kept`),
    /// chosen with `choose` (its keys break ties). Subclasses give the rule.
    open func grow(_ k: Int, layer l: Int, kept: KeptPositions, by choose: TopK, context: MaskContext) -> [Int] {
        preconditionFailure("\(type(of: self)) gives no grow rule")
    }

    /// How many connections each layer grows, given what each dropped: as many as it
    /// dropped (SNFS may move budget between layers).
    open func growCounts(drops: [LayerDrop], context: MaskContext) -> [Int] {
        drops.map(\.dropped.count)
    }

    /// The drop of every sparse layer at the context's step: the `k = floor(f(t) n)` active
    /// weights with the smallest |w|. A function of the weights only, so any rank can
    /// compute it.
    public func drops(_ context: MaskContext) -> [LayerDrop]? {
        let t = context.step
        return context.layers.enumerated().map { l, layer in
            drop.drop(schedule.count(at: t, active: layer.pattern.activeCount), from: layer, layer: l, step: t)
        }
    }

    /// The context's drops, computed once per update (`MaskUpdate` fills them in).
    public func computedDrops(_ context: MaskContext) -> [LayerDrop] { context.drops ?? drops(context)! }

    /// The drop-and-grow decision for every sparse layer at the context's step.
    public func decide(_ context: MaskContext) -> [MaskDiff] {
        let drops = computedDrops(context)
        let growCounts = growCounts(drops: drops, context: context)
        // Grow: the best-scoring connections not kept.
        return context.layers.enumerated().map { l, layer in
            let dropped = drops[l].dropped
            let k = growCounts[l]
            guard k > 0 || !dropped.isEmpty else { return MaskDiff(sparseLayer: l, dropped: [], grown: []) }
            let kept = KeptPositions(pattern: layer.pattern, dropped: dropped)
            let choose = TopK(seed: seed, purpose: .grow, step: context.step, layer: l)
            let grown = grow(k, layer: l, kept: kept, by: choose, context: context)
            return MaskDiff(sparseLayer: l, dropped: dropped.sorted(), grown: grown)
        }
    }
}
