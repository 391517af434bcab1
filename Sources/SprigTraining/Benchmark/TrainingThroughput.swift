import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity
import SprigModels
import SprigDistributed

/// Measures training throughput of one rank: the full training step (`TrainingStep`:
/// forward, loss, backward, the all-reduce call, the optimizer, and for RigL the mask
/// update every `deltaT` steps with its dense gradients) on synthetic batches, so that data
/// loading and evaluation are left out. The weight layers' sparsities follow
/// `distribution` (uniform: every layer gets `sparsity`).
public struct TrainingThroughput {
    public var model: ModelArchitecture
    public var sparsity: Double
    public var distribution: SparsityDistribution
    public var method: SparseTrainingMethod
    public var batch: Int
    public var microbatches: Int
    /// Timed steps run in blocks of `deltaT` (so each block holds one mask update) until
    /// `seconds` have passed.
    public var seconds: Double
    public var deltaT: Int

    public init(model: ModelArchitecture, sparsity: Double = 0, distribution: SparsityDistribution = .uniform,
                method: SparseTrainingMethod = .benchmarkDefault, batch: Int = 128, microbatches: Int = 4, seconds: Double = 2,
                deltaT: Int = 100) {
        self.model = model
        self.sparsity = sparsity
        self.distribution = distribution
        self.method = method
        self.batch = batch
        self.microbatches = microbatches
        self.seconds = seconds
        self.deltaT = deltaT
    }

    public struct Result {
        public var samplesPerSecond: Double
        /// Steps timed, mask-update steps among them.
        public var steps: Int
        public var updateSteps: Int
        /// Bytes the model holds between mask updates: parameters, optimizer state,
        /// gradient buffers (the store's and the gradient tree's), sparse indices and dense
        /// scratch of dense-math layers.
        public var modelBytes: Int
        /// Useful training FLOPs per example: forward, weight gradient, and input gradient
        /// of every layer but the first, counting active weights only.
        public var flopsPerExample: Int
        /// The share of the (amortised) step time in each `StepProfile.Part`.
        public var shares: [StepProfile.Part: Double]
    }

    public func run() -> Result {
        TrainingThroughput.interleaved([self], seconds: seconds)[0]
    }

    /// Several configurations measured in turn, a round each, until each has trained
    /// `seconds`: a drift in the machine's speed falls on all of them alike, so their ratios
    /// hold even on a shared machine.
    ///
    /// Every round starts on a mask-update step (for a method that updates masks); it and the
    /// step after it (which rebuilds what the new masks change) are timed apart from the
    /// others, so a step's time is amortised over a real period,
    /// `(t_update + t_next + (deltaT - 2) t_step) / deltaT`. A round is `deltaT` steps (a
    /// whole period) when that takes at most two seconds, else 10 steps (conv nets).
    public static func interleaved(_ configurations: [TrainingThroughput], seconds: Double) -> [Result] {
        let sessions = configurations.map { Session($0) }
        let roundSteps = sessions.map { session -> Int in
            session.round(3) // warm-up, not counted
            let perStep = session.elapsed / 3
            session.reset()
            return perStep * Double(session.configuration.deltaT) <= 2 ? session.configuration.deltaT : 10
        }
        repeat {
            for (session, steps) in zip(sessions, roundSteps) { session.round(steps) }
        } while sessions.map(\.elapsed).min()! < seconds
        return sessions.map { $0.result() }
    }

    /// One configuration's model, step and synthetic batches, ready to train.
    final class Session {
        let configuration: TrainingThroughput
        let layers: [Layer]
        let net: Sequential
        let step: TrainingStep
        let batches: [(sideBySide: LocalBatch, oneByOne: LocalBatch)]
        var t = 1

        init(_ c: TrainingThroughput) {
            configuration = c
            let model = c.model, batch = c.batch, microbatches = c.microbatches, sparsity = c.sparsity
            let sparsities = c.distribution.sparsities(of: model.weightShapes, sparsity: sparsity)
            net = model.makeModel(sparsities: sparsity > 0 ? sparsities : nil, seed: 1)
            layers = net.layers
            net.initialize(.glorotUniform, seed: 1)
            let optimizer = SGD(store: net.store, settings: SGD.Settings(momentum: 0.9, nesterov: true, weightDecay: 1e-4))
            let schedule = DropFractionSchedule(deltaT: c.deltaT, end: Int.max)
            var sparsitySettings = SparsitySettings()
            sparsitySettings.method = c.method
            let policy: MaskPolicy? = sparsity > 0 && c.method.traits(sparsitySettings.options).changesMasks
                ? sparsitySettings.maskPolicy(schedule: schedule, seed: 1, budgets: [], prunedSparsities: [])
                : nil
            step = TrainingStep(model: net, optimizer: optimizer, replicas: .single(),
                                globalBatch: batch, microbatches: microbatches, policy: policy)
            // The dense-gradient path training takes (`auto`: factors for RigL on MLPs).
            step.tree.denseReduction = (try? sparsitySettings.resolvedReduction(for: net, batchSize: batch, fail: SprigError.init)) ?? .reduceToRoot
            // A few distinct synthetic batches, standardised like real inputs, in both
            // layouts (`LocalBatch`), as the training loop gathers the one a step reads.
            var random = StatelessRandom(seed: 3, purpose: .shuffle)
            let chunk = batch / microbatches
            batches = (0..<3).map { _ in
                let x = Matrix(rows: model.inputFeatures, cols: batch)
                for i in 0..<x.count { x.data[i] = random.nextNormal() }
                let labels = (0..<batch).map { _ in Int32(random.nextInt(below: model.classes)) }
                let sideBySide = LocalBatch(input: x, labels: labels, microbatches: microbatches)
                let parts = (0..<microbatches).map { k in sideBySide.microbatch(k) { Matrix(rows: model.inputFeatures, cols: chunk) } }
                let oneByOne = LocalBatch(microbatches: parts, labels: (0..<microbatches).map { Array(sideBySide.labels(ofMicrobatch: $0)) })
                return (sideBySide, oneByOne)
            }
        }

        /// Seconds of ordinary and of mask-update steps, their counts, and each part's seconds.
        var stepSeconds = 0.0, updateSeconds = 0.0
        var steps = 0, updates = 0
        var partSeconds = [Double](repeating: 0, count: StepProfile.Part.allCases.count)
        var updatePartSeconds = [Double](repeating: 0, count: StepProfile.Part.allCases.count)
        var elapsed: Double { stepSeconds + updateSeconds }

        /// Forgets what was timed.
        func reset() {
            (stepSeconds, updateSeconds, steps, updates) = (0, 0, 0, 0)
            partSeconds = partSeconds.map { _ in 0 }
            updatePartSeconds = updatePartSeconds.map { _ in 0 }
        }

        /// `n` steps from the next mask-update step (the next multiple of `deltaT`), each timed.
        func round(_ n: Int) {
            let deltaT = configuration.deltaT
            t = (t + deltaT - 1) / deltaT * deltaT
            StepProfile.enabled = true
            defer { StepProfile.enabled = false }
            for _ in 0..<n {
                let b = batches[t % 3]
                // The update step and the step after it (whose forward pass rebuilds the
                // tables of the layers whose masks changed) count as the update's.
                let updating = (step.policy?.updatesMasks(atStep: t) ?? false) || (step.policy?.updatesMasks(atStep: t - 1) ?? false)
                let parts = StepProfile.seconds
                let start = monotonicSeconds()
                step(step.runsSideBySide(atStep: t) ? b.sideBySide : b.oneByOne, learningRate: 0.01, step: t)
                let seconds = monotonicSeconds() - start
                for i in parts.indices {
                    let d = StepProfile.seconds[i] - parts[i]
                    if updating { updatePartSeconds[i] += d } else { partSeconds[i] += d }
                }
                if updating { updateSeconds += seconds; updates += 1 } else { stepSeconds += seconds; steps += 1 }
                t += 1
            }
        }

        func result() -> Result {
            // The amortised step: two update steps in deltaT (every step when all are updates).
            let deltaT = Double(configuration.deltaT)
            let u = updates == 0 ? 0 : steps == 0 ? 1 : min(1, 2 / deltaT), s = 1 - u
            let perStep = (updates > 0 ? u * updateSeconds / Double(updates) : 0) + (steps > 0 ? s * stepSeconds / Double(steps) : 0)
            var shares: [StepProfile.Part: Double] = [:]
            for part in StepProfile.Part.allCases {
                let i = part.rawValue
                let seconds = (updates > 0 ? u * updatePartSeconds[i] / Double(updates) : 0)
                    + (steps > 0 ? s * partSeconds[i] / Double(steps) : 0)
                shares[part] = seconds / perStep
            }
            let weightLayers = net.leaves.filter { $0 is Linear || $0 is SparseLinear || $0 is Conv2D }
            let flops = weightLayers.enumerated().reduce(0) { acc, item in
                acc + item.element.forwardFLOPsPerExample * (item.offset == 0 ? 2 : 3)
            }
            // Sparse layers' indices and dense-math scratch; a convolution's indices only (its
            // scratch is activation-sized: patches of the micro-batch).
            let layerBytes = net.leaves.reduce(0) { bytes, layer in
                if let sparse = layer as? SparseLinear { return bytes + sparse.auxiliaryBytes }
                if let sparse = (layer as? Conv2D)?.product as? SparseLinear { return bytes + sparse.pattern.bytes }
                return bytes
            }
            return Result(samplesPerSecond: Double(configuration.batch) / perStep, steps: steps + updates, updateSteps: updates,
                          modelBytes: net.store.bytes + net.store.count * 4 + step.tree.bytes + layerBytes,
                          flopsPerExample: flops, shares: shares)
        }
    }
}
