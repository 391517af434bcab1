import SprigLayers

/// The grow rule of RigL (Evci et al., ICML 2020), which other methods may share: grow the
/// free connections with the largest `|dL/dW_ij|` of the update step's global batch.
///
/// It runs in two phases, so that no rank needs the dense gradient whole: every rank
/// proposes, for each layer, the k best free positions among the rows it examines
/// (`propose`: its share of the tiles computed from the gathered factors,
/// `TiledDenseGradient`; or, where the dense gradient is held whole, all rows on rank 0),
/// and rank 0 picks the best k of all proposals (`pick`). The rows the ranks examine are
/// disjoint, so no position is proposed twice. The best k of a union are among the union
/// of each part's best k, so the decision is exactly the one a single process makes over
/// the whole matrix.
public struct GradientGrowth {
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// This rank's proposals for layer l: the best `k` free positions (not in `kept`) of the
    /// rows it examines, scored by `|dL/dW|`.
    public func propose(_ k: Int, layer l: Int, kept: KeptPositions, context: MaskContext) -> [GrowthCandidate] {
        var selection = TopK.Selection(k, keys: TopK(seed: seed, purpose: .grow, step: context.step, layer: l))
        guard selection.k > 0 else { return [] }
        let layer = context.layers[l]
        let cols = layer.inputFeatures
        if let g = context.denseGradient(l) {
            // A dense gradient held whole (reduce: rank 0 only; allreduce: every rank) is
            // examined by rank 0 alone, so that no position is proposed twice.
            guard context.rank == 0 else { return [] }
            for r in 0..<layer.outputFeatures { kept.offerFree(inRow: r, to: &selection) { abs(g[r * cols + $0]) } }
        } else if let factors = context.factors {
            TiledDenseGradient(factors: factors, weightIndex: layer.weightIndex, budgetBytes: context.tileBudgetBytes)
                .forEachTile(rank: context.rank, of: context.ranks) { rows, tile in
                    for r in rows {
                        let row = tile + (r - rows.lowerBound) * cols
                        kept.offerFree(inRow: r, to: &selection) { abs(row[$0]) }
                    }
                }
        }
        return selection.candidates
    }

    /// Rank 0's pick for layer l: the best `k` of every rank's proposals (`context.candidates`).
    public func pick(_ k: Int, layer l: Int, by choose: TopK, context: MaskContext) -> [Int] {
        guard let proposals = context.candidates else { preconditionFailure("gradient growth decides from proposals") }
        var selection = TopK.Selection(k, keys: choose)
        for candidate in proposals[l] { selection.offer(candidate.position, score: candidate.score) }
        precondition(selection.count == k, "cannot grow \(k) of \(selection.count) candidates")
        return selection.positions
    }
}
