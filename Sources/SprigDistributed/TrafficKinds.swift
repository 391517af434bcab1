import MPI

/// What Sprig's collectives carry, for the communication report.
extension TrafficKind {
    /// Gradients of active weights and dense parameters (the per-step fused all-reduce).
    public static let gradients = TrafficKind(rawValue: "gradients")
    /// Dense weight gradients of sparse layers, on the steps that compute them (mask
    /// updates; every step for SNFS).
    public static let denseGradients = TrafficKind(rawValue: "dense_gradients")
    /// Factors `X_k`, `dY_k` of the dense gradients, gathered on update steps that grow
    /// from factors.
    public static let growthFactors = TrafficKind(rawValue: "growth_factors")
    /// Each rank's best growth candidates, gathered for rank 0's decision.
    public static let growthCandidates = TrafficKind(rawValue: "growth_candidates")
    /// Mask decisions broadcast by rank 0.
    public static let maskDiffs = TrafficKind(rawValue: "mask_diffs")
    /// Batch-norm statistics of each step (per-micro-batch means and variances, summed for
    /// the running statistics).
    public static let statistics = TrafficKind(rawValue: "bn_statistics")
    /// Replica checksums.
    public static let checks = TrafficKind(rawValue: "checks")
    /// Loss sums, accuracy counts, error flags and other bookkeeping.
    public static let metrics = TrafficKind(rawValue: "metrics")

    /// Sprig's kinds, in the order reports list them.
    public static let sprigKinds: [TrafficKind] = [.gradients, .statistics, .denseGradients, .growthFactors, .growthCandidates, .maskDiffs, .checks, .metrics]
}
