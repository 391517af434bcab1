import SprigTensor
import SprigData
import SprigExport
import SprigLayers
import SprigSparsity
import SprigModels
import SprigDistributed

/// Checkpoints: the state of a run, and continuing from it.
extension Trainer {
    /// The state of the run now (see `Checkpoint`).
    public func checkpoint() -> Checkpoint {
        let store = model.store, snapshot = store.snapshot()
        return Checkpoint(step: step, seed: config.seed, configText: config.yaml, configSource: config.source,
                          names: store.specs.map(\.name), counts: store.specs.map(\.count),
                          values: snapshot.values, states: snapshot.states,
                          optimizerSteps: optimizer.steps,
                          masks: model.sparseLayers.map { Checkpoint.Mask($0.layer.pattern) },
                          averages: trainingStep.policy?.state ?? [],
                          maskUpdates: trainingStep.maskUpdates, connectionsChanged: trainingStep.connectionsChanged,
                          flops: trainingStep.flops.total, denseFLOPs: trainingStep.flops.denseTotal,
                          epochLossSum: epochLossSum, epochSteps: epochSteps,
                          runningStatistics: model.batchNorms.map { $0.runningMean + $0.runningVariance },
                          batchesTracked: model.batchNorms.map(\.batchesTracked))
    }

    /// Continues from `checkpoint`: masks, parameters, momentum, SNFS's averages,
    /// counters and the step. The checkpoint must come from a run of the same model
    /// (checked tensor by tensor); the number of ranks may differ.
    public func restore(_ checkpoint: Checkpoint, source: String) throws {
        func fail(_ message: String) -> SprigError { SprigError(source, "does not fit this model: \(message)") }
        let sparse = model.sparseLayers
        guard checkpoint.masks.count == sparse.count else { throw fail("\(checkpoint.masks.count) masks for \(sparse.count) sparse layers") }
        for (mask, (_, layer)) in zip(checkpoint.masks, sparse) {
            layer.setPattern(try mask.pattern(rows: layer.outputFeatures, cols: layer.inputFeatures, fail: fail))
        }
        let store = model.store
        guard checkpoint.names == store.specs.map(\.name), checkpoint.counts == store.specs.map(\.count) else {
            throw fail("its tensors \(zip(checkpoint.names, checkpoint.counts).map { "\($0) (\($1))" }) differ from \(store.specs.map { "\($0.name) (\($0.count))" })")
        }
        if let policy = trainingStep.policy, !policy.stateCounts(sparse.map(\.layer)).isEmpty || !checkpoint.averages.isEmpty {
            let expected = policy.stateCounts(sparse.map(\.layer))
            guard checkpoint.averages.map(\.count) == expected else {
                throw fail("it holds \(checkpoint.averages.count) buffers of \(config.sparsity.method.name)'s state, "
                           + "\(expected.count) expected (sizes \(checkpoint.averages.map(\.count)), not \(expected))")
            }
            policy.state = checkpoint.averages
        }
        guard checkpoint.states.count == store.stateCount else {
            throw fail("\(checkpoint.states.count) optimizer state buffers for \(store.stateCount) (another optimizer?)")
        }
        let norms = model.batchNorms
        let savedCounts = checkpoint.runningStatistics.map { $0.count }
        let expectedCounts = norms.map { 2 * $0.channels }
        guard savedCounts == expectedCounts, checkpoint.batchesTracked.count == norms.count else {
            throw fail("running statistics of \(savedCounts.count) batch norms (\(savedCounts) values) for \(norms.count) (\(expectedCounts))")
        }
        for (k, bn) in norms.enumerated() {
            let saved = checkpoint.runningStatistics[k]
            bn.setRunningStatistics(mean: Array(saved[0..<bn.channels]), variance: Array(saved[bn.channels..<(2 * bn.channels)]),
                                    batchesTracked: checkpoint.batchesTracked[k])
        }
        store.restore(ParameterSnapshot(values: checkpoint.values, states: checkpoint.states))
        optimizer.steps = checkpoint.optimizerSteps
        trainingStep.maskUpdates = checkpoint.maskUpdates
        trainingStep.connectionsChanged = checkpoint.connectionsChanged
        trainingStep.flops.total = checkpoint.flops
        trainingStep.flops.denseTotal = checkpoint.denseFLOPs
        step = checkpoint.step
        (epochLossSum, epochSteps) = (checkpoint.epochLossSum, checkpoint.epochSteps)
    }
}
