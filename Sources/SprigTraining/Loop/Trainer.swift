import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity
import SprigModels
import SprigDistributed

/// Data-parallel training of a model on a data set (`DataSplits`: IDX, CIFAR or NumPy).
///
/// Every rank holds the same model (same seed, same initial draws). Each step, a rank
/// gathers its micro-batches of the global batch (`BatchPlan`) and runs a `TrainingStep`;
/// after each epoch the ranks evaluate the test set together.
public final class Trainer {
    public let config: TrainingConfig
    /// The data-parallel group this trainer is one replica of.
    public let replicas: Replicas
    public let data: DataSplits
    public let model: Sequential
    public let optimizer: Optimizer
    public let plan: BatchPlan
    public let normalization: Normalization
    let trainingStep: TrainingStep
    private let replicaCheck: ReplicaCheck
    let loss = SoftmaxCrossEntropy()
    /// Steps taken so far.
    public internal(set) var step = 0
    /// The epoch under way: the sum of its steps' mean losses and its steps so far (kept in
    /// checkpoints, so that a resumed epoch reports the loss of all its steps).
    var epochLossSum = 0.0
    var epochSteps = 0

    /// Builds the model and checks the config against the data and the number of ranks.
    /// The config's model is fitted to the data (`TrainingConfig.model(fitting:)`: a zoo
    /// model takes the data's input shape and class count), and `config.validation`
    /// examples of the training set are held out here (`data` is the files' sets).
    public init(config: TrainingConfig, replicas: Replicas, data files: DataSplits) throws {
        var config = config
        try config.validate()
        config.model = try config.model(fitting: files)
        try config.checkAugmentation(for: files)
        guard config.validation < files.train.count - 1 else {
            throw config.fieldError("validation", "\(config.validation) would hold out the whole training set "
                                    + "(\(files.train.count) examples)")
        }
        let data = files.holdingOut(config.validation)
        try config.validate(ranks: replicas.count, trainingExamples: data.train.count)
        self.config = config
        self.replicas = replicas
        self.data = data
        let s = config.sparsity
        let sparsities = s.layerSparsities(config.model.weightShapes)
        let estimate = MemoryEstimate(config: config, sparsities: sparsities)
        if let available = MemoryEstimate.available, estimate.bytes > available {
            throw config.fieldError("model", String(format: "%@ needs about %.1f GB of memory (estimated before allocating), "
                                                    + "%.1f GB are available; raise sparsity.sparsity or use a smaller model",
                                                    config.modelName, Double(estimate.bytes) / 1e9, Double(available) / 1e9))
        }
        // Methods that start dense (NNrelief, gradual pruning) keep their pruned layers as
        // fully active sparse layers that shrink.
        let traits = s.traits
        let pruned = Set(sparsities.indices.filter { traits.startsDense && traits.hasSparseLayer(atSparsity: sparsities[$0]) })
        model = config.model.makeModel(sparsities: sparsities, seed: config.seed, denseMathDensity: s.denseMathDensity,
                                       convDenseMathDensity: s.convDenseMathDensity, denseStart: pruned, fanIn: s.fanIn)
        model.initialize(config.initializer, seed: config.seed)
        let store = model.store
        optimizer = config.adam.map { Adam(store: store, settings: $0) as Optimizer } ?? SGD(store: store, settings: config.sgd)
        plan = BatchPlan(exampleCount: data.train.count, globalBatch: config.batchSize,
                         rank: replicas.rank, ranks: replicas.count, seed: config.seed)
        normalization = config.normalize ? Normalization(fitting: data.train) : Normalization(unscaledFor: data.train)
        let fullSteps = config.epochs * plan.stepsPerEpoch
        let schedule = s.schedule(totalSteps: min(fullSteps, config.maxSteps ?? fullSteps))
        let policy = s.maskPolicy(schedule: schedule, seed: config.seed,
                                  budgets: model.sparseLayers.map(\.layer.pattern.activeCount),
                                  prunedSparsities: pruned.sorted().map { sparsities[$0] },
                                  sparsities: { global in
                                      let all = s.distribution.sparsities(of: config.model.weightShapes, sparsity: global, overrides: s.overrides)
                                      return pruned.sorted().map { all[$0] }
                                  })
        replicaCheck = ReplicaCheck(replicas: replicas)
        trainingStep = TrainingStep(model: model, optimizer: optimizer, replicas: replicas,
                                    globalBatch: config.batchSize, microbatches: config.microbatches,
                                    policy: policy)
        let reduction = try s.resolvedReduction(for: model, batchSize: config.batchSize, fail: config.fieldError)
        if reduction == .gatherFactors && traits.growsFromFactors {
            try s.checkTileBudget(layers: model.sparseLayers.map { (model.store.specs[$0.layer.weightIndex].name, $0.layer) },
                                  microbatches: config.microbatches, fail: config.fieldError)
        }
        trainingStep.tree.denseReduction = reduction
        trainingStep.tileBudgetBytes = s.tileBudgetMB << 20
    }

    /// The epochs `train` runs to (`continueTraining` raises it).
    public private(set) lazy var epochLimit = config.epochs

    /// The steps the run will take.
    public var totalSteps: Int {
        let full = epochLimit * plan.stepsPerEpoch
        return min(full, config.maxSteps.map { max($0, step) } ?? full)
    }

    /// Lets the next `train` call run `epochs` more epochs (NNrelief's retraining rounds;
    /// use a constant learning rate, the schedule is laid out over `config.epochs`).
    public func continueTraining(epochs: Int) {
        epochLimit = (step + plan.stepsPerEpoch - 1) / plan.stepsPerEpoch + epochs
    }

    /// A stretch of steps with a schedule of its own (an NNrelief retraining round's
    /// `retrain_schedule`): its first step, the schedule, and its length in steps.
    var ownSchedule: (start: Int, schedule: LearningRateSchedule, steps: Int)?

    /// The learning rate of `step`: the config's schedule over `config.epochs`, or from
    /// `ownSchedule`'s first step on, that schedule counted from there.
    public func learningRate(at step: Int) -> Double {
        if let own = ownSchedule, step >= own.start {
            return own.schedule.rate(base: config.learningRate, step: step - own.start, stepsPerEpoch: plan.stepsPerEpoch,
                                     totalSteps: own.steps)
        }
        return config.schedule.rate(base: config.learningRate, step: step, stepsPerEpoch: plan.stepsPerEpoch,
                                    totalSteps: config.epochs * plan.stepsPerEpoch)
    }

    /// A loss that is not finite: training stops (on every rank alike: the loss is the
    /// all-reduced one).
    public struct NonFiniteLoss: Error, CustomStringConvertible {
        public let step: Int
        public let loss: Double
        /// The step counted from 1 (after it, `step` steps are done).
        public var description: String { "training diverged: the loss of step \(step) is \(loss); stopping" }
    }

    /// A stop that the ranks agreed on (a SIGTERM or SIGINT on some rank, voted through the
    /// step's all-reduce): thrown on every rank after the same step, before the run's end.
    public struct Stopped: Error, CustomStringConvertible {
        /// Steps done.
        public let step: Int
        public var description: String { "stopped after step \(step)" }
    }

    /// This rank's stop vote, read once per step (see `GradientTree.stopVote`).
    public var stopVote: () -> Bool {
        get { trainingStep.tree.stopVote }
        set { trainingStep.tree.stopVote = newValue }
    }

    /// Trains epoch after epoch until `config.epochs` or `config.maxSteps`, from `step`
    /// (a resumed run starts mid-epoch), calling `afterStep` on every rank after every
    /// step (with the number of steps done) and `onEpoch` after each epoch's evaluation.
    /// Every `config.replicaCheckEvery` steps, after the last step, and in debug builds
    /// after every mask update, the ranks compare model checksums (`ReplicaCheck`); a
    /// divergence, or a loss that is NaN or infinite, is thrown on every rank alike, and so
    /// is `Stopped` after a step at which a rank voted to stop (after `afterStep`).
    public func train(afterStep: (Int) throws -> Void = { _ in }, onEpoch: (EpochReport) throws -> Void) throws {
        // The local batch in the layout the step reads (`LocalBatch`): its micro-batches side
        // by side in one matrix, or one matrix each. Each is allocated on first use.
        let chunk = trainingStep.microbatchSize
        let localMicrobatches = plan.localBatch / chunk
        let features = data.train.featureCount
        var wide: Matrix?
        var parts: [Matrix] = []
        var labels: [Int32] = []
        var partLabels = [[Int32]](repeating: [], count: localMicrobatches)
        // Training batches are augmented (`Augmentation`), keyed by the epoch.
        func gather(_ order: [Int32], batch: Int, epoch: Int, sideBySide: Bool) -> LocalBatch {
            let indices = plan.localIndices(order, batch: batch)
            let augmenting = EpochAugmentation(config.augmentation, seed: config.seed, epoch: epoch)
            if sideBySide {
                let input = wide ?? Matrix(rows: features, cols: plan.localBatch)
                wide = input
                data.train.gather(indices, normalization: normalization, augmenting: augmenting, into: input, labels: &labels)
                return LocalBatch(input: input, labels: labels, microbatches: localMicrobatches)
            }
            if parts.isEmpty { parts = (0..<localMicrobatches).map { _ in Matrix(rows: features, cols: chunk) } }
            for k in 0..<localMicrobatches {
                let start = indices.startIndex + k * chunk
                data.train.gather(indices[start..<(start + chunk)], normalization: normalization, augmenting: augmenting,
                                  into: parts[k], labels: &partLabels[k])
            }
            return LocalBatch(microbatches: parts, labels: partLabels)
        }
        if step == 0, let policy = trainingStep.policy, policy.drawsInitialMasks { drawInitialMasks(policy) }
        if step == 0, let policy = trainingStep.policy, policy.decidesAtInitialisation {
            decideAtInitialisation(policy, batch: gather(plan.order(epoch: 1), batch: 0, epoch: 1, sideBySide: false))
        }
        let total = totalSteps
        var epoch = step / plan.stepsPerEpoch
        var trafficBefore = replicas.traffic()
        while step < total {
            epoch += 1
            let order = plan.order(epoch: epoch)
            let firstBatch = step % plan.stepsPerEpoch
            let start = monotonicSeconds()
            if firstBatch == 0 { (epochLossSum, epochSteps) = (0, 0) }
            var steps = 0
            var dataSeconds = 0.0
            var lr = 0.0
            var stopAfterEpoch = false
            for batch in firstBatch..<plan.stepsPerEpoch where step < total {
                let gatherStart = monotonicSeconds()
                let localBatch = gather(order, batch: batch, epoch: epoch, sideBySide: trainingStep.runsSideBySide(atStep: step))
                dataSeconds += monotonicSeconds() - gatherStart
                lr = learningRate(at: step)
                let updatesBefore = trainingStep.maskUpdates
                let loss = trainingStep(localBatch, learningRate: Float(lr), step: step)
                guard loss.isFinite else { throw NonFiniteLoss(step: step + 1, loss: loss) }
                epochLossSum += loss
                epochSteps += 1
                step += 1
                steps += 1
                if step == config.injectDivergenceAt && replicas.rank == replicas.count - 1 {
                    model.store.perturb(0, by: 1e-3)
                }
                var check = config.replicaCheckEvery > 0 && step % config.replicaCheckEvery == 0
                #if DEBUG
                check = check || trainingStep.maskUpdates != updatesBefore
                #endif
                if check || step == total { try replicaCheck.verify(model, step: step) }
                try afterStep(step)
                if trainingStep.stopRequested && step < total {
                    // Mid-epoch at once; at an epoch's end, after its evaluation and report.
                    if batch + 1 < plan.stepsPerEpoch { throw Stopped(step: step) }
                    stopAfterEpoch = true
                }
            }
            let seconds = monotonicSeconds() - start
            let (accuracy, testLoss) = evaluate(data.test)
            let validation = data.validation.map(evaluate)
            let trafficNow = replicas.traffic()
            let communication = CommunicationReport(steps: steps, from: trafficBefore, to: trafficNow, denseBytesPerStep: denseBytesPerStep)
            trafficBefore = trafficNow
            try onEpoch(EpochReport(epoch: epoch, step: step, trainLoss: epochLossSum / Double(max(epochSteps, 1)),
                                    testAccuracy: accuracy, testLoss: testLoss,
                                    validationAccuracy: validation?.accuracy, validationLoss: validation?.loss,
                                    samplesPerSecond: Double(steps * config.batchSize) / seconds,
                                    seconds: seconds, dataSeconds: dataSeconds, communication: communication, learningRate: lr))
            if stopAfterEpoch { throw Stopped(step: step) }
        }
    }

    /// Per weight layer: name, dense shape, active weights, density, and whether it runs
    /// sparse kernels.
    public var layerSummary: [(name: String, shape: [Int], active: Int, density: Double, sparseMath: Bool)] {
        let sparse = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer) })
        let share = Dictionary(uniqueKeysWithValues: model.sparseLayers.enumerated().map { l, entry in
            (entry.layer.weightIndex, trainingStep.policy?.forwardShare(l) ?? 1)
        })
        return model.store.specs.enumerated().compactMap { i, spec in
            guard spec.name.hasSuffix(".weight"), spec.shape.count >= 2 else { return nil } // not a batch norm's scale
            let name = String(spec.name.dropLast(".weight".count))
            let math = sparse[i].map { !$0.usesDenseMath } ?? false
            // The weights the forward pass uses (`MaskPolicy.forwardShare` of the mask).
            let active = Int((Double(spec.count) * (share[i] ?? 1)).rounded())
            return (name, spec.shape, active, Double(active) / Double(spec.denseCount), math)
        }
    }

    /// Bytes a dense data-parallel trainer all-reduces per step for this model: every
    /// parameter, as if every layer were dense.
    public var denseBytesPerStep: Int {
        4 * model.store.specs.reduce(0) { $0 + $1.denseCount }
    }

    /// Training FLOPs so far (RigL paper, appendix H).
    public var flops: TrainingFLOPs { trainingStep.flops }
    /// Inference FLOPs per example: the forward pass's (`TrainingStep.forwardFLOPsPerExample`).
    public var inferenceFLOPsPerExample: Double { trainingStep.forwardFLOPsPerExample }
    /// Mask updates so far, and connections they regrew.
    /// How update steps bring RigL (and SNFS) their dense gradients.
    public var denseGradientPath: DenseGradientReduction { trainingStep.tree.denseReduction }

    /// Bytes of the sparse layers' dense gradients, `4 x sum(in x out)`.
    public var sparseDenseGradientBytes: Int {
        4 * model.sparseLayers.reduce(0) { $0 + $1.layer.inputFeatures * $1.layer.outputFeatures }
    }

    public var maskUpdates: (count: Int, connectionsChanged: Int) { (trainingStep.maskUpdates, trainingStep.connectionsChanged) }
}
