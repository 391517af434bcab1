import SprigLayers

/// RigL (Evci, Gale, Menick, Castro, Elsen, "Rigging the lottery: making all tickets
/// winners", ICML 2020): grow the connections with the largest |dense gradient|
/// `|dL/dW_ij|` of the update step's global batch. The dense gradient is computed on update
/// steps only, and, following the reference code, the update replaces that step's
/// optimizer update.
///
/// The growth runs in two phases, so that no rank needs the dense gradient whole:
/// every rank proposes, for each layer, the k best free positions among the rows it
/// examines (`proposeGrowth`: its share of the tiles computed from the gathered factors,
/// `TiledDenseGradient`; or, where the dense gradient is held whole, all rows on rank 0),
/// and rank 0 picks the best k of all proposals (`grow`). The rows the ranks examine are
/// disjoint, so no position is proposed twice. The best k of a union are among the union of each part's best
/// k, so the decision is exactly the one a single process makes over the whole matrix.
public final class RigL: DropAndGrow {
    public override func needsDenseGradients(atStep t: Int) -> Bool { schedule.isUpdateStep(t) }
    public override var replacesOptimizerStep: Bool { true }

    public override func proposeGrowth(_ context: MaskContext) -> [[GrowthCandidate]]? {
        let drops = drops(context)
        return context.layers.enumerated().map { l, layer in
            let kept = KeptPositions(pattern: layer.pattern, dropped: drops[l].dropped)
            var selection = TopK.Selection(drops[l].dropped.count, keys: TopK(seed: seed, purpose: .grow, step: context.step, layer: l))
            guard selection.k > 0 else { return [] }
            let cols = layer.inputFeatures
            if let g = context.denseGradient(l) {
                // A dense gradient held whole (reduce: rank 0 only; allreduce: every rank) is
                // examined by rank 0 alone, so that no position is proposed twice.
                guard context.rank == 0 else { return [] }
                for r in 0..<layer.outputFeatures {
                    kept.forEachFree(inRow: r) { c in selection.offer(r * cols + c, score: abs(g[r * cols + c])) }
                }
            } else if let factors = context.factors {
                TiledDenseGradient(factors: factors, weightIndex: layer.weightIndex, budgetBytes: context.tileBudgetBytes)
                    .forEachTile(rank: context.rank, of: context.ranks) { rows, tile in
                        for r in rows {
                            let row = tile + (r - rows.lowerBound) * cols
                            kept.forEachFree(inRow: r) { c in selection.offer(r * cols + c, score: abs(row[c])) }
                        }
                    }
            }
            return selection.candidates
        }
    }

    public override func grow(_ k: Int, layer l: Int, kept: KeptPositions, by choose: TopK, context: MaskContext) -> [Int] {
        guard let proposals = context.candidates else { preconditionFailure("RigL decides from growth proposals") }
        var selection = TopK.Selection(k, keys: choose)
        for candidate in proposals[l] { selection.offer(candidate.position, score: candidate.score) }
        precondition(selection.count == k, "cannot grow \(k) of \(selection.count) candidates")
        return selection.positions
    }
}
