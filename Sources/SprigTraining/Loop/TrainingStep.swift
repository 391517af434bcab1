import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity
import SprigDistributed

/// One data-parallel training step, shared by the trainer and the benchmark.
///
/// The global batch of B examples is M micro-batches of B/M; rank r of n trains on
/// micro-batches `r M/n ..< (r+1) M/n`. For each, forward, the loss gradient scaled by
/// `1/B`, and backward (for all of them at once, side by side, when every layer gives each
/// column the bits it has alone); the gradients are summed as a pairwise tree over micro-batches and
/// ranks (`GradientTree`: one fused all-reduce carrying every active-weight gradient and
/// the loss sum); then every rank applies the same optimizer update. The replicas never
/// exchange weights and stay bitwise identical, and the run is bitwise the same for any
/// power-of-two number of ranks that divides M.
///
/// With a mask policy (`MaskPolicy`), steps that need them also sum the dense gradients of
/// the sparse layers, and on update steps rank 0 decides the masks and every rank applies
/// the diff (`MaskSynchronizer`), after the optimizer step or in its place (RigL).
public final class TrainingStep {
    public let model: Sequential
    public let optimizer: Optimizer
    public let tree: GradientTree
    public let globalBatch: Int
    public let microbatches: Int
    /// How masks change (nil: they never do).
    public let policy: MaskPolicy?
    public let synchronizer: MaskSynchronizer
    /// The model's sparse products (the objects stay; their masks change), and the index in
    /// `model.leaves` of the layer that holds each.
    private let sparseLayers: [SparseLinear]
    private let sparseLeaves: [Int]
    public internal(set) var flops: TrainingFLOPs
    /// Mask updates applied so far, and connections regrown by them.
    public internal(set) var maskUpdates = 0
    public internal(set) var connectionsChanged = 0
    /// True after a step at which some rank voted to stop (`GradientTree.stopVote`).
    public internal(set) var stopRequested = false
    /// Bytes a layer's dense-gradient tiles may take on a step that grows from factors.
    public var tileBudgetBytes = 64 << 20
    /// Whether a step runs its local micro-batches side by side in one pass when the model
    /// allows it (`Sequential.batchesMicrobatches(ofSize:)`): the same bits as one pass per
    /// micro-batch, faster. Tests turn it off to compare the two.
    public var batchesMicrobatches = true
    let replicas: Replicas
    private let loss = SoftmaxCrossEntropy()
    /// Where a local batch given in the other layout is copied (`LocalBatch`).
    private var microbatchInput: Matrix?
    /// The step under way (the key of dropout masks).
    private var currentStep = 0
    private var sideBySideInput: Matrix?

    /// `microbatches` must divide `globalBatch` and be a multiple of the number of ranks.
    public init(model: Sequential, optimizer: Optimizer, replicas: Replicas, globalBatch: Int, microbatches: Int,
                policy: MaskPolicy? = nil) {
        precondition(globalBatch % microbatches == 0 && microbatches % replicas.count == 0,
                     "\(microbatches) micro-batches do not fit batch \(globalBatch) on \(replicas.count) ranks")
        self.model = model
        self.optimizer = optimizer
        self.globalBatch = globalBatch
        self.microbatches = microbatches
        self.policy = policy
        self.replicas = replicas
        synchronizer = MaskSynchronizer(replicas: replicas)
        sparseLayers = model.sparseLayers.map(\.layer)
        sparseLeaves = model.sparseLayers.map(\.index)
        flops = TrainingFLOPs(denseForward: Double(model.denseForwardFLOPsPerExample))
        tree = GradientTree(store: model.store, replicas: replicas, localMicrobatches: microbatches / replicas.count,
                            statisticsCount: model.statisticsCount)
    }

    /// The forward pass's FLOPs per example: the model's, less the share of each sparse
    /// layer's that its policy leaves out of the forward pass (`MaskPolicy.forwardShare`).
    public var forwardFLOPsPerExample: Double {
        var forward = Double(model.forwardFLOPsPerExample)
        if let policy {
            for (l, index) in sparseLeaves.enumerated() {
                let share = policy.forwardShare(l)
                if share < 1 { forward -= (1 - share) * Double(model.leaves[index].forwardFLOPsPerExample) }
            }
        }
        return forward
    }

    /// Examples per micro-batch.
    public var microbatchSize: Int { globalBatch / microbatches }

    /// Trains step `t` on this rank's micro-batches (`inputs[k]` is features x micro-batch
    /// size, with `labels[k]`) and returns the mean loss over the global batch (all ranks).
    @discardableResult
    public func callAsFunction(inputs: [Matrix], labels: [[Int32]], learningRate: Float, step t: Int = 0) -> Double {
        self(LocalBatch(microbatches: inputs, labels: labels), learningRate: learningRate, step: t)
    }

    /// Trains step `t` on this rank's share of the global batch and returns the mean loss
    /// over the global batch (all ranks).
    ///
    /// One direction, as values: local gradients -> the tree's reduction (`StepGradients`)
    /// -> the optimizer step (unless the mask update replaces it) -> on update steps, one
    /// mask-update transaction (`MaskSynchronizer.update`: drops, gathered growth proposals,
    /// rank 0's decision, broadcast, applied on every rank).
    @discardableResult
    public func callAsFunction(_ batch: LocalBatch, learningRate: Float, step t: Int = 0) -> Double {
        currentStep = t
        let dense = policy?.needsDenseGradients(atStep: t) ?? false
        let reduced = accumulateGradients(batch, dense: dense)
        if let statistics = reduced.statistics { model.applyStatistics(statistics, microbatches: microbatches) }
        let context = MaskContext(layers: sparseLayers, store: model.store, step: t, gradients: reduced.gradients,
                                  denseGradients: reduced.denseGradients,
                                  factors: reduced.factors, rank: replicas.rank, ranks: replicas.count,
                                  tileBudgetBytes: tileBudgetBytes)
        var started = StepProfile.start()
        if let policy, tree.holdsDenseGradients { policy.observe(context) }
        StepProfile.stop(.maskUpdate, since: started)
        let updatesMasks = policy?.updatesMasks(atStep: t) ?? false
        if !(updatesMasks && policy!.replacesOptimizerStep) {
            policy?.adjustGradients(context)
            optimizer.step(lr: learningRate, gradients: reduced.gradients)
            policy?.afterOptimizerStep(context)
        }
        if let policy, updatesMasks {
            started = StepProfile.start()
            let diffs = synchronizer.update(policy, context: context)
            maskUpdates += 1
            connectionsChanged += diffs.reduce(0) { $0 + $1.grown.count }
            StepProfile.stop(.maskUpdate, since: started)
        }
        tree.endStep()
        for layer in sparseLayers { layer.enforceFrozenBiases() }
        return Double(reduced.lossSum) / Double(globalBatch)
    }

    /// `accumulateGradients(_:dense:)` for micro-batches given one by one.
    @discardableResult
    public func accumulateGradients(inputs: [Matrix], labels: [[Int32]], dense: Bool) -> StepGradients {
        accumulateGradients(LocalBatch(microbatches: inputs, labels: labels), dense: dense)
    }

    /// True when step `t` runs all local micro-batches in one pass, side by side: every
    /// layer gives a column the bits it has alone (`Sequential.batchesMicrobatches(ofSize:)`)
    /// and the step needs no dense gradients. The loader gathers that layout then.
    public func runsSideBySide(atStep t: Int) -> Bool {
        runsSideBySide(dense: policy?.needsDenseGradients(atStep: t) ?? false)
    }

    private func runsSideBySide(dense: Bool) -> Bool {
        !dense && tree.localMicrobatches > 1 && batchesMicrobatches && model.batchesMicrobatches(ofSize: microbatchSize)
    }

    /// Forward and backward over the micro-batches and the tree all-reduce, without an
    /// optimizer step; with `dense`, the result also holds the global batch's dense
    /// gradients of the sparse layers (on the ranks that hold them) until `tree.endStep()`.
    ///
    /// Side by side (`runsSideBySide(atStep:)`), one pass over all local micro-batches:
    /// products over the whole local batch instead of one per micro-batch, the same bits.
    /// Otherwise one pass per micro-batch.
    @discardableResult
    public func accumulateGradients(_ batch: LocalBatch, dense: Bool) -> StepGradients {
        precondition(batch.microbatches == tree.localMicrobatches && batch.microbatchSize == microbatchSize,
                     "expected \(tree.localMicrobatches) micro-batches of \(microbatchSize), got \(batch.microbatches) of \(batch.microbatchSize)")
        let scale = 1 / Float(globalBatch)
        tree.begin(dense: dense)
        model.setTraining(true, microbatchSize: microbatchSize)
        defer { model.setTraining(false) }
        if runsSideBySide(dense: dense) {
            let buffers = tree.beginAllMicrobatches()
            let input = batch.allMicrobatches { scratch(&sideBySideInput, rows: batch.features, cols: globalBatch / replicas.count) }
            model.setBatchPosition(step: currentStep, firstExample: replicas.rank * (globalBatch / replicas.count))
            let logits = model.forward(input)
            let (lossSums, dLogits) = loss(logits, labels: batch.labels, gradientScale: scale, segments: batch.microbatches)
            model.backward(dLogits, microbatches: batch.microbatches, into: buffers)
            model.writeStatistics(into: tree.statistics(in: buffers))
            tree.endAllMicrobatches(lossSums: lossSums.map { Float($0) })
        } else {
            for k in 0..<batch.microbatches {
                let buffers = tree.beginMicrobatch()
                let x = batch.microbatch(k) { scratch(&microbatchInput, rows: batch.features, cols: microbatchSize) }
                model.setBatchPosition(step: currentStep, firstExample: replicas.rank * (globalBatch / replicas.count) + k * microbatchSize)
                let logits = model.forward(x)
                let (outcome, dLogits) = loss(logits, labels: Array(batch.labels(ofMicrobatch: k)), gradientScale: scale)
                model.backward(dLogits!, into: buffers)
                model.writeStatistics(into: tree.statistics(in: buffers))
                tree.endMicrobatch(lossSum: Float(outcome.lossSum))
            }
        }
        let reduced = tree.finish()
        stopRequested = reduced.stopRequested
        flops.addStep(examples: globalBatch, sparseForward: forwardFLOPsPerExample,
                      weightGradientForward: Double(model.forwardFLOPsPerExample), denseGradient: dense)
        return reduced
    }

    /// `matrix` if it has the shape, else a new one stored there.
    private func scratch(_ matrix: inout Matrix?, rows: Int, cols: Int) -> Matrix {
        let m = Matrix.reuse(matrix, rows: rows, cols: cols)
        matrix = m
        return m
    }
}
