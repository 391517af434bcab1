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
                method: SparseTrainingMethod = .rigl, batch: Int = 128, microbatches: Int = 4, seconds: Double = 2,
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
        public var steps: Int
        /// Bytes the model holds between mask updates: parameters, optimizer state,
        /// gradient buffers (the store's and the gradient tree's), sparse indices and dense
        /// scratch of dense-math layers.
        public var modelBytes: Int
        /// Useful training FLOPs per example: forward, weight gradient, and input gradient
        /// of every layer but the first, counting active weights only.
        public var flopsPerExample: Int
    }

    public func run() -> Result {
        TrainingThroughput.interleaved([self], seconds: seconds)[0]
    }

    /// Several configurations measured in turn, a block of `deltaT` steps each, until each
    /// has trained `seconds`: a drift in the machine's speed falls on all of them alike, so
    /// their ratios hold even on a shared machine.
    public static func interleaved(_ configurations: [TrainingThroughput], seconds: Double) -> [Result] {
        let sessions = configurations.map { Session($0) }
        for session in sessions { session.block(10) } // warm-up
        var elapsed = [Double](repeating: 0, count: sessions.count)
        var timed = [Int](repeating: 0, count: sessions.count)
        repeat {
            for (i, session) in sessions.enumerated() {
                let start = monotonicSeconds()
                session.block(session.configuration.deltaT)
                elapsed[i] += monotonicSeconds() - start
                timed[i] += session.configuration.deltaT
            }
        } while elapsed.min()! < seconds
        return sessions.indices.map { sessions[$0].result(timed: timed[$0], elapsed: elapsed[$0]) }
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
            let policy: MaskPolicy? = sparsity > 0 && c.method.isDynamic
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

        func block(_ n: Int) {
            for _ in 0..<n {
                let b = batches[t % 3]
                step(step.runsSideBySide(atStep: t) ? b.sideBySide : b.oneByOne, learningRate: 0.01, step: t)
                t += 1
            }
        }

        func result(timed: Int, elapsed: Double) -> Result {
            let weightLayers = layers.filter { $0 is Linear || $0 is SparseLinear }
            let flops = weightLayers.enumerated().reduce(0) { acc, item in
                acc + item.element.forwardFLOPsPerExample * (item.offset == 0 ? 2 : 3)
            }
            let layerBytes = layers.compactMap { $0 as? SparseLinear }.reduce(0) { $0 + $1.auxiliaryBytes }
            return Result(samplesPerSecond: Double(timed * configuration.batch) / elapsed, steps: timed,
                          modelBytes: net.store.bytes + net.store.count * 4 + step.tree.bytes + layerBytes,
                          flopsPerExample: flops)
        }
    }
}
