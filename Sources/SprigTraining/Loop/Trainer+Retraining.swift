import SprigLayers
import SprigExport

/// Which epoch an NNrelief retraining round ended with, and, for comparison, the epoch a
/// choice on the test set would have kept (the reference code's, adekhovich/NNrelief).
public struct RetrainingChoice {
    /// The epoch the model now holds: the last, or the best by validation accuracy.
    public let kept: EpochReport
    /// The epoch of highest test accuracy (the first of equals).
    public let bestOnTest: EpochReport

    /// The kept epoch and its validation accuracy, and the test-set choice's epoch and test
    /// accuracy (what the reference code would have reported), in a metrics line.
    public func add(to j: inout JSONLine) {
        j.add("kept_epoch", kept.epoch)
        if let v = kept.validationAccuracy { j.add("validation_accuracy", v) }
        j.add("best_test_epoch", bestOnTest.epoch)
        j.add("best_test_accuracy", bestOnTest.testAccuracy)
    }
}

/// NNrelief's retraining after a pruning round (`NNreliefSettings`).
extension Trainer {
    /// Retrains `settings.retrainEpochs` more epochs after a round: from the initial weights
    /// or the current ones, with the round's own schedule and fresh optimizer state when
    /// `retrain_schedule` is set, and ends at the epoch `settings.keep` chooses. Every rank
    /// chooses alike (evaluations are the same bits on every rank). `onEpoch` sees every
    /// epoch's report.
    public func retrain(_ settings: NNreliefSettings, onEpoch: (EpochReport) throws -> Void) throws -> RetrainingChoice {
        if settings.retrainFrom == .initial {
            resetToInitialWeights()
        } else if settings.retrainSchedule != nil {
            resetOptimizerState()
        }
        continueTraining(epochs: settings.retrainEpochs)
        if let schedule = settings.retrainSchedule {
            ownSchedule = (start: step, schedule: schedule, steps: settings.retrainEpochs * plan.stepsPerEpoch)
        }
        var last: EpochReport?, bestOnTest: EpochReport?
        var best: (report: EpochReport, validation: Double, snapshot: ModelSnapshot)?
        try train { r in
            try onEpoch(r)
            last = r
            if bestOnTest.map({ r.testAccuracy > $0.testAccuracy }) ?? true { bestOnTest = r }
            if settings.keep == .bestValidation, let v = r.validationAccuracy, best.map({ v > $0.validation }) ?? true {
                best = (r, v, ModelSnapshot(of: model))
            }
        }
        guard let last, let bestOnTest else { preconditionFailure("a retraining round trains at least one epoch") }
        guard let best else { return RetrainingChoice(kept: last, bestOnTest: bestOnTest) }
        if best.report.epoch != last.epoch { best.snapshot.restore(into: model) }
        return RetrainingChoice(kept: best.report, bestOnTest: bestOnTest)
    }

    /// The share of the weight layers' weights that are active (`layerSummary`'s sums), the
    /// figure `nnrelief.target_weights` is compared with.
    public var weightsFraction: Double {
        let layers = layerSummary
        return Double(layers.reduce(0) { $0 + $1.active }) / Double(layers.reduce(0) { $0 + $1.shape.reduce(1, *) })
    }

    /// Zero optimizer state (momentum, Adam's moments and step count), as a new optimizer.
    func resetOptimizerState() {
        model.store.resetOptimizerState()
        optimizer.steps = 0
    }
}

/// A model's parameter values and batch norms' running statistics at one moment (the
/// masks do not change within a retraining round, so the store's layout is the same when
/// it is restored).
struct ModelSnapshot {
    let values: ParameterSnapshot
    let runningStatistics: [(mean: [Float], variance: [Float], batchesTracked: Int)]

    init(of model: Sequential) {
        values = ParameterSnapshot(values: model.store.snapshot().values, states: [])
        runningStatistics = model.batchNorms.map { ($0.runningMean, $0.runningVariance, $0.batchesTracked) }
    }

    func restore(into model: Sequential) {
        model.store.restore(values)
        for (bn, saved) in zip(model.batchNorms, runningStatistics) {
            bn.setRunningStatistics(mean: saved.mean, variance: saved.variance, batchesTracked: saved.batchesTracked)
        }
    }
}
