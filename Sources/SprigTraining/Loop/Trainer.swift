import SprigTensor
import SprigData
import SprigExport
import SprigLayers
import SprigSparsity
import SprigModels
import SprigDistributed

/// Data-parallel training of a model on an MNIST-format data set.
///
/// Every rank holds the same model (same seed, same initial draws). Each step, a rank
/// gathers its micro-batches of the global batch (`BatchPlan`) and runs a `TrainingStep`;
/// after each epoch the ranks evaluate the test set together.
public final class Trainer {
    public let config: TrainingConfig
    /// The data-parallel group this trainer is one replica of.
    public let replicas: Replicas
    public let data: MNISTData
    public let model: Sequential
    public let optimizer: Optimizer
    public let plan: BatchPlan
    public let normalization: Normalization
    private let trainingStep: TrainingStep
    private let replicaCheck: ReplicaCheck
    private let loss = SoftmaxCrossEntropy()
    /// Steps taken so far.
    public private(set) var step = 0
    /// The epoch under way: the sum of its steps' mean losses and its steps so far (kept in
    /// checkpoints, so that a resumed epoch reports the loss of all its steps).
    private var epochLossSum = 0.0
    private var epochSteps = 0

    /// Builds the model and checks the config against the data and the number of ranks.
    public init(config: TrainingConfig, replicas: Replicas, data: MNISTData) throws {
        try config.validate()
        try config.validate(ranks: replicas.count, trainingExamples: data.train.count, features: data.train.featureCount)
        self.config = config
        self.replicas = replicas
        self.data = data
        let s = config.sparsity
        let sparsities = s.layerSparsities(config.model.weightShapes)
        // Methods that start dense (NNrelief, gradual pruning) keep their pruned layers as
        // fully active sparse layers that shrink.
        let pruned = Set(sparsities.indices.filter { s.method.startsDense && (s.method == .nnrelief || sparsities[$0] > 0) })
        model = Sequential(layers: config.model.makeLayers(sparsities: sparsities, seed: config.seed,
                                                           denseMathDensity: s.denseMathDensity, denseStart: pruned),
                           auxiliaryCount: TrainingStep.auxiliaryCount)
        model.initialize(config.initializer, seed: config.seed)
        let store = model.store
        optimizer = config.adam.map { Adam(store: store, settings: $0) as Optimizer } ?? SGD(store: store, settings: config.sgd)
        plan = BatchPlan(exampleCount: data.train.count, globalBatch: config.batchSize,
                         rank: replicas.rank, ranks: replicas.count, seed: config.seed)
        normalization = Normalization(fitting: data.train)
        let fullSteps = config.epochs * plan.stepsPerEpoch
        let schedule = s.schedule(totalSteps: min(fullSteps, config.maxSteps ?? fullSteps))
        let policy = s.maskPolicy(schedule: schedule, seed: config.seed,
                                  budgets: model.sparseLayers.map(\.layer.pattern.activeCount),
                                  prunedSparsities: pruned.sorted().map { sparsities[$0] })
        replicaCheck = ReplicaCheck(replicas: replicas)
        trainingStep = TrainingStep(model: model, optimizer: optimizer, replicas: replicas,
                                    globalBatch: config.batchSize, microbatches: config.microbatches,
                                    policy: policy)
        trainingStep.tree.denseReduction = s.denseGradientReduction
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

    /// Puts the initial weights back at every active connection, zero biases, and fresh
    /// optimizer state (NNrelief retrains LeNets from their initial weights). The masks
    /// and the pruned biases stay.
    public func resetToInitialWeights() {
        for (i, layer) in model.layers.enumerated() { layer.initialize(config.initializer, seed: config.seed, layerIndex: i) }
        for state in model.store.states { state.update(repeating: 0, count: model.store.count) }
        optimizer.steps = 0
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
        trainingStep.synchronizer.update(layers) { pruner.decide(MaskContext(layers: layers, store: model.store, step: step)) }
    }

    /// The learning rate of `step`.
    public func learningRate(at step: Int) -> Double {
        config.schedule.rate(base: config.learningRate, step: step, stepsPerEpoch: plan.stepsPerEpoch,
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

    /// Trains epoch after epoch until `config.epochs` or `config.maxSteps`, from `step`
    /// (a resumed run starts mid-epoch), calling `afterStep` on every rank after every
    /// step (with the number of steps done) and `onEpoch` after each epoch's evaluation.
    /// Every `config.replicaCheckEvery` steps, after the last step, and in debug builds
    /// after every mask update, the ranks compare model checksums (`ReplicaCheck`); a
    /// divergence, or a loss that is NaN or infinite, is thrown on every rank alike.
    public func train(afterStep: (Int) throws -> Void = { _ in }, onEpoch: (EpochReport) throws -> Void) throws {
        let chunk = trainingStep.microbatchSize
        let localChunks = plan.localBatch / chunk
        let inputs = (0..<localChunks).map { _ in Matrix(rows: data.train.featureCount, cols: chunk) }
        var labels = [[Int32]](repeating: [], count: localChunks)
        func gather(_ order: [Int32], batch: Int) {
            let indices = plan.localIndices(order, batch: batch)
            for k in 0..<localChunks {
                let start = indices.startIndex + k * chunk
                data.train.gather(indices[start..<(start + chunk)], normalization: normalization, into: inputs[k], labels: &labels[k])
            }
        }
        if step == 0, let policy = trainingStep.policy, policy.decidesAtInitialisation {
            gather(plan.order(epoch: 1), batch: 0)
            decideAtInitialisation(policy, inputs: inputs, labels: labels)
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
            var lr = 0.0
            for batch in firstBatch..<plan.stepsPerEpoch where step < total {
                gather(order, batch: batch)
                lr = learningRate(at: step)
                let updatesBefore = trainingStep.maskUpdates
                let loss = trainingStep(inputs: inputs, labels: labels, learningRate: Float(lr), step: step)
                guard loss.isFinite else { throw NonFiniteLoss(step: step + 1, loss: loss) }
                epochLossSum += loss
                epochSteps += 1
                step += 1
                steps += 1
                if step == config.injectDivergenceAt && replicas.rank == replicas.count - 1 {
                    model.store.values[0] += 1e-3
                }
                var check = config.replicaCheckEvery > 0 && step % config.replicaCheckEvery == 0
                #if DEBUG
                check = check || trainingStep.maskUpdates != updatesBefore
                #endif
                if check || step == total { try replicaCheck.verify(model, step: step) }
                try afterStep(step)
            }
            let seconds = monotonicSeconds() - start
            let (accuracy, testLoss) = evaluate(data.test)
            let trafficNow = replicas.traffic()
            let communication = CommunicationReport(steps: steps, from: trafficBefore, to: trafficNow, denseBytesPerStep: denseBytesPerStep)
            trafficBefore = trafficNow
            try onEpoch(EpochReport(epoch: epoch, step: step, trainLoss: epochLossSum / Double(max(epochSteps, 1)),
                                    testAccuracy: accuracy, testLoss: testLoss,
                                    samplesPerSecond: Double(steps * config.batchSize) / seconds,
                                    seconds: seconds, communication: communication, learningRate: lr))
        }
    }

    /// A one-shot policy's decision at initialisation (SNIP): every sparse layer is made
    /// dense with its initial weights (SNIP's sensitivity is that of the dense network,
    /// c = 1), the dense gradients of the first global batch go to the policy, which keeps
    /// each layer's budget, and the kept weights keep their initial values.
    private func decideAtInitialisation(_ policy: MaskPolicy, inputs: [Matrix], labels: [[Int32]]) {
        let sparse = model.sparseLayers
        for (index, layer) in sparse {
            layer.setPattern(.dense(rows: layer.outputFeatures, cols: layer.inputFeatures))
            layer.initialize(config.initializer, seed: config.seed, layerIndex: index)
        }
        trainingStep.accumulateGradients(inputs: inputs, labels: labels, dense: true)
        let context = MaskContext(layers: sparse.map(\.layer), store: model.store, step: 0)
        trainingStep.synchronizer.update(context.layers) { policy.decide(context) }
        trainingStep.tree.endStep()
        for (index, layer) in sparse { layer.initialize(config.initializer, seed: config.seed, layerIndex: index) }
    }

    /// The metadata of an export: the effective config, and what a reader needs to use
    /// the weights (input normalisation `x = (p / 255 - mean) / std`, feature-major
    /// layout note).
    public var exportMetadata: [String: String] {
        ["format": "sprig", "config": config.yaml, "model": config.modelName, "step": String(step),
         "input_mean": String(normalization.mean), "input_std": String(normalization.std),
         "layout": "weights are out x in; fcN.mask is 1 where a connection is active; y = W x + b, ReLU between layers"]
    }

    /// Loads exported tensors (`tensors()` of a run of the same config) into the model:
    /// masks from `fcN.mask`, values from the dense-shaped weights.
    public func load(_ tensors: [NamedTensor], source: String) throws {
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (_, layer) in model.sparseLayers {
            let name = model.store.specs[layer.weightIndex].name
            let shape = model.store.specs[layer.weightIndex].shape
            guard let mask = byName[name.replacingOccurrences(of: ".weight", with: ".mask")], mask.shape == shape else {
                throw SprigError(source, "no mask of shape \(shape) for \(name)")
            }
            let active = mask.values.indices.filter { mask.values[$0] != 0 }
            layer.setPattern(SparsePattern(rows: layer.outputFeatures, cols: layer.inputFeatures, activeIndices: active))
        }
        let sparseByIndex = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer) })
        for (i, spec) in model.store.specs.enumerated() {
            guard let t = byName[spec.name], t.shape == spec.shape else {
                throw SprigError(source, "no tensor \(spec.name) of shape \(spec.shape)")
            }
            let values = sparseByIndex[i].map { layer in layer.pattern.activeIndices.map { t.values[$0] } } ?? t.values
            (model.store.values + model.store.offsets[i]).update(from: values, count: values.count)
        }
    }

    /// The state of the run now (see `Checkpoint`).
    public func checkpoint() -> Checkpoint {
        let store = model.store
        return Checkpoint(step: step, seed: config.seed, configText: config.yaml, configSource: config.source,
                          names: store.specs.map(\.name), counts: store.specs.map(\.count),
                          values: Array(UnsafeBufferPointer(start: store.values, count: store.count)),
                          states: store.states.map { Array(UnsafeBufferPointer(start: $0, count: store.count)) },
                          optimizerSteps: optimizer.steps,
                          masks: model.sparseLayers.map { $0.layer.pattern.activeIndices.map { Int32($0) } },
                          averages: trainingStep.policy?.state ?? [],
                          maskUpdates: trainingStep.maskUpdates, connectionsChanged: trainingStep.connectionsChanged,
                          flops: trainingStep.flops.total, denseFLOPs: trainingStep.flops.denseTotal,
                          epochLossSum: epochLossSum, epochSteps: epochSteps)
    }

    /// Continues from `checkpoint`: masks, parameters, momentum, SNFS's averages,
    /// counters and the step. The checkpoint must come from a run of the same model
    /// (checked tensor by tensor); the number of ranks may differ.
    public func restore(_ checkpoint: Checkpoint, source: String) throws {
        func fail(_ message: String) -> SprigError { SprigError(source, "does not fit this model: \(message)") }
        let sparse = model.sparseLayers
        guard checkpoint.masks.count == sparse.count else { throw fail("\(checkpoint.masks.count) masks for \(sparse.count) sparse layers") }
        for (mask, (_, layer)) in zip(checkpoint.masks, sparse) {
            let total = layer.inputFeatures * layer.outputFeatures
            let indices = mask.map(Int.init)
            guard indices.allSatisfy({ $0 >= 0 && $0 < total }), Set(indices).count == indices.count else {
                throw fail("a mask index is out of range or repeated")
            }
            layer.setPattern(SparsePattern(rows: layer.outputFeatures, cols: layer.inputFeatures, activeIndices: indices))
        }
        let store = model.store
        guard checkpoint.names == store.specs.map(\.name), checkpoint.counts == store.specs.map(\.count) else {
            throw fail("its tensors \(zip(checkpoint.names, checkpoint.counts).map { "\($0) (\($1))" }) differ from \(store.specs.map { "\($0.name) (\($0.count))" })")
        }
        if let policy = trainingStep.policy, !checkpoint.averages.isEmpty {
            guard checkpoint.averages.map(\.count) == sparse.map({ $0.layer.inputFeatures * $0.layer.outputFeatures }) else {
                throw fail("moving averages of the wrong sizes")
            }
            policy.state = checkpoint.averages
        }
        guard checkpoint.states.count == store.states.count else {
            throw fail("\(checkpoint.states.count) optimizer state buffers for \(store.states.count) (another optimizer?)")
        }
        store.values.update(from: checkpoint.values, count: store.count)
        for (state, saved) in zip(store.states, checkpoint.states) { state.update(from: saved, count: store.count) }
        optimizer.steps = checkpoint.optimizerSteps
        trainingStep.maskUpdates = checkpoint.maskUpdates
        trainingStep.connectionsChanged = checkpoint.connectionsChanged
        trainingStep.flops.total = checkpoint.flops
        trainingStep.flops.denseTotal = checkpoint.denseFLOPs
        step = checkpoint.step
        (epochLossSum, epochSteps) = (checkpoint.epochLossSum, checkpoint.epochSteps)
    }

    /// Per weight layer: name, dense shape, active weights, density, and whether it runs
    /// sparse kernels.
    public var layerSummary: [(name: String, shape: [Int], active: Int, density: Double, sparseMath: Bool)] {
        let sparse = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer) })
        return model.store.specs.enumerated().compactMap { i, spec in
            guard spec.name.hasSuffix(".weight") else { return nil }
            let name = String(spec.name.dropLast(".weight".count))
            let math = sparse[i].map { !$0.usesDenseMath } ?? false
            return (name, spec.shape, spec.count, Double(spec.count) / Double(spec.denseCount), math)
        }
    }

    /// Bytes a dense data-parallel trainer all-reduces per step for this model: every
    /// parameter, as if every layer were dense.
    public var denseBytesPerStep: Int {
        4 * model.store.specs.reduce(0) { $0 + $1.denseCount }
    }

    /// Training FLOPs so far (RigL paper, appendix H).
    public var flops: TrainingFLOPs { trainingStep.flops }
    /// Mask updates so far, and connections they regrew.
    public var maskUpdates: (count: Int, connectionsChanged: Int) { (trainingStep.maskUpdates, trainingStep.connectionsChanged) }

    /// Accuracy and mean loss on `dataset`: each rank evaluates a contiguous share and the
    /// counts are summed.
    public func evaluate(_ dataset: Dataset) -> (accuracy: Double, loss: Double) {
        let n = dataset.count
        let lo = n * replicas.rank / replicas.count
        let hi = n * (replicas.rank + 1) / replicas.count
        var labels: [Int32] = []
        var totals = [0.0, 0.0] // correct, loss sum
        var start = lo
        while start < hi {
            let end = min(start + config.evalBatchSize, hi)
            let x = Matrix(rows: dataset.featureCount, cols: end - start)
            dataset.gather((Int32(start)..<Int32(end)), normalization: normalization, into: x, labels: &labels)
            let (outcome, _) = loss(model.forward(x), labels: labels, gradientScale: nil)
            totals[0] += Double(outcome.correct)
            totals[1] += outcome.lossSum
            start = end
        }
        replicas.sum(&totals)
        return (totals[0] / Double(n), totals[1] / Double(n))
    }

    /// The model's tensors, for export: dense-shaped weights (zero at inactive
    /// connections), biases, and for each sparse layer its mask (`fcN.mask`, 1 where
    /// active).
    public func tensors() -> [NamedTensor] {
        let sparseByIndex = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer) })
        var out: [NamedTensor] = []
        for (i, spec) in model.store.specs.enumerated() {
            let values = model.store.valuesArray(i)
            guard let layer = sparseByIndex[i] else {
                out.append(NamedTensor(name: spec.name, shape: spec.shape, values: values))
                continue
            }
            var dense = [Float](repeating: 0, count: spec.denseCount)
            var mask = [Float](repeating: 0, count: spec.denseCount)
            for (k, index) in layer.pattern.activeIndices.enumerated() {
                dense[index] = values[k]
                mask[index] = 1
            }
            out.append(NamedTensor(name: spec.name, shape: spec.shape, values: dense))
            out.append(NamedTensor(name: spec.name.replacingOccurrences(of: ".weight", with: ".mask"), shape: spec.shape, values: mask))
        }
        return out
    }
}
