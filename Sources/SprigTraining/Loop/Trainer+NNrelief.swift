import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity
import SprigDistributed

/// NNrelief's rounds (`sprig prune`): statistics over a pruning set, a decision on rank 0,
/// and retraining from the initial weights or from the current ones.
extension Trainer {
    /// Puts the initial weights back at every active connection, zero biases, and fresh
    /// optimizer state (NNrelief retrains LeNets from their initial weights), and batch
    /// norms' initial running statistics. The masks and the pruned biases stay.
    public func resetToInitialWeights() {
        model.initialize(config.initializer, seed: config.seed)
        resetOptimizerState()
        for (_, layer) in model.sparseLayers { layer.enforceFrozenBiases() }
    }

    /// One NNrelief round: statistics over a pruning set of `size` training examples (a
    /// stateless draw per round), then rank 0 decides the masks and every rank applies them.
    ///
    /// The set is cut into 8 fixed chunks, each computed in one forward pass wherever it
    /// runs; the ranks share the chunks, one all-gather brings every chunk's sums to every
    /// rank, and they are added in chunk order, so the statistics, and the masks, are
    /// bitwise the same for any number of ranks.
    public func pruneWithNNrelief(_ pruner: NNreliefPruner, setSize: Int, round: Int) {
        var random = StatelessRandom(seed: config.seed, purpose: .pruningSet, step: round)
        let set = Array(random.permutation(data.train.count).prefix(min(setSize, data.train.count)))
        let chunk = (set.count + 7) / 8
        let chunks = (set.count + chunk - 1) / chunk
        let perRank = (chunks + replicas.count - 1) / replicas.count
        let n = pruner.statisticsCount
        var local = [Double](repeating: 0, count: perRank * n)
        var labels: [Int32] = []
        for k in 0..<perRank {
            let g = replicas.rank * perRank + k
            guard g < chunks else { break }
            let range = (g * chunk)..<min((g + 1) * chunk, set.count)
            let x = Matrix(rows: data.train.featureCount, cols: range.count)
            data.train.gather(set[range], normalization: normalization, into: x, labels: &labels)
            var stats = [Double](repeating: 0, count: n)
            pruner.accumulate(x, into: &stats)
            local.replaceSubrange((k * n)..<((k + 1) * n), with: stats)
        }
        let all = replicas.allGather(local)
        var stats = [Double](repeating: 0, count: n)
        for g in 0..<chunks {
            for i in 0..<n { stats[i] += all[g * n + i] }
        }
        pruner.statistics = (stats, set.count)
        let layers = model.sparseLayers.map(\.layer)
        trainingStep.synchronizer.update(pruner, context: MaskContext(layers: layers, store: model.store, step: step))
    }
}
