import MPI

/// Measures training throughput of one rank: the full training step (`TrainingStep`:
/// forward, loss, backward, the all-reduce call, the optimizer) on synthetic batches, so
/// that data loading and evaluation are left out.
public struct TrainingThroughput {
    public var model: ModelArchitecture
    public var batch: Int
    public var steps: Int
    public var microbatches: Int
    public var warmupSteps: Int

    public init(model: ModelArchitecture, batch: Int = 128, microbatches: Int = 4, steps: Int = 500, warmupSteps: Int = 20) {
        self.model = model
        self.batch = batch
        self.microbatches = microbatches
        self.steps = steps
        self.warmupSteps = warmupSteps
    }

    public struct Result {
        public var samplesPerSecond: Double
        public var secondsPerStep: Double
        /// Bytes of parameters, gradients and optimizer state.
        public var modelBytes: Int
        /// Useful training FLOPs per example: forward, weight gradient, and input gradient
        /// of every layer but the first.
        public var flopsPerExample: Int
    }

    public func run() -> Result {
        let layers = model.makeLayers()
        let net = Sequential(layers: layers, auxiliaryCount: TrainingStep.auxiliaryCount)
        net.initialize(.glorotUniform, seed: 1)
        let optimizer = SGD(store: net.store, settings: SGD.Settings(momentum: 0.9, nesterov: true, weightDecay: 1e-4))
        let step = TrainingStep(model: net, optimizer: optimizer, communicator: SingleProcessCommunicator(),
                                globalBatch: batch, microbatches: microbatches)
        // A few distinct synthetic batches, standardised like real inputs.
        var random = StatelessRandom(seed: 3, purpose: .shuffle)
        let chunk = batch / microbatches
        let batches: [(inputs: [Matrix], labels: [[Int32]])] = (0..<3).map { _ in
            let inputs = (0..<microbatches).map { _ in
                let x = Matrix(rows: model.inputFeatures, cols: chunk)
                for i in 0..<x.count { x.data[i] = random.nextNormal() }
                return x
            }
            let labels = (0..<microbatches).map { _ in (0..<chunk).map { _ in Int32(random.nextInt(below: model.classes)) } }
            return (inputs, labels)
        }
        for s in 0..<warmupSteps { step(inputs: batches[s % 3].inputs, labels: batches[s % 3].labels, learningRate: 0.01) }
        let start = monotonicSeconds()
        for s in 0..<steps { step(inputs: batches[s % 3].inputs, labels: batches[s % 3].labels, learningRate: 0.01) }
        let elapsed = monotonicSeconds() - start
        let linear = layers.compactMap { $0 as? Linear }
        let flops = linear.enumerated().reduce(0) { acc, item in
            acc + item.element.forwardFLOPsPerExample * (item.offset == 0 ? 2 : 3)
        }
        return Result(samplesPerSecond: Double(steps * batch) / elapsed, secondsPerStep: elapsed / Double(steps),
                      modelBytes: net.store.bytes + optimizer.stateBytes + step.tree.bytes, flopsPerExample: flops)
    }
}
