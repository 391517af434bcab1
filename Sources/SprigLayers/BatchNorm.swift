import SprigTensor

/// Batch normalisation (Ioffe & Szegedy, ICML 2015) of `channels` channels of `positions`
/// values each (a convolution's C x H x W output: positions H W; a linear layer's output:
/// positions 1), on feature-major activations (rows (channel, position)):
///
///     y = gamma_c (x - mu_c) / sqrt(var_c + eps) + beta_c
///
/// In training, `mu_c` and the biased `var_c` are taken over each micro-batch alone (ghost
/// batch normalisation, Hoffer et al., NeurIPS 2017): over the `positions x m` values of
/// channel c in its m examples, so that no statistic depends on the number of ranks
/// (docs/ARCHITECTURE.md, "Batch normalisation"). Backward, per micro-batch of N = positions
/// m values, with `xhat = (x - mu) / sqrt(var + eps)`:
///
///     dbeta = sum dy,  dgamma = sum dy xhat,
///     dx = gamma / sqrt(var + eps) (dy - dbeta / N - xhat dgamma / N),
///
/// the micro-batches' parameter gradients added in the pairwise tree as `GradientTree` adds
/// them. In evaluation, PyTorch's running statistics replace them (`torch.nn.BatchNorm2d`,
/// momentum 0.1, eps 1e-5): after every step, `running = (1 - 0.1) running + 0.1 s`, with
/// `s` the mean over the global batch's micro-batches of their means and of their unbiased
/// variances (`var N / (N - 1)`), summed in the gradient tree (`statisticsCount`).
///
/// Backward recomputes `xhat` from the input instead of keeping it. A ReLU right after the
/// batch norm in a chain of layers is fused into it (`fuseReLUs`): the forward pass writes
/// `max(0, y)` and the backward pass takes the ReLU's gradient `dy [y > 0]`, with the
/// ReLU's bits, and the ReLU passes values and gradients through untouched.
public final class BatchNorm: Layer {
    public let channels: Int
    public let positions: Int
    public static let momentum: Float = 0.1
    public static let epsilon: Float = 1e-5
    /// The running statistics used in evaluation, and the steps that updated them
    /// (`num_batches_tracked`); the same bits on every rank.
    public internal(set) var runningMean: [Float]
    public internal(set) var runningVariance: [Float]
    public internal(set) var batchesTracked = 0
    /// Training normalises with each micro-batch's statistics; evaluation with the running ones.
    public var isTraining = false
    /// Examples per micro-batch in training (0: the whole batch is one).
    public var microbatchSize = 0
    /// True when the ReLU after this layer is fused into it (`fuseReLUs`).
    public internal(set) var appliesReLU = false
    private var weight: ParameterSlot!
    private var bias: ParameterSlot!
    private var input: Matrix?
    private var output: Matrix?
    private var inputGradient: Matrix?
    /// Per (micro-batch, channel) of the last training pass: 1 / sqrt(var + eps), the mean
    /// and the unbiased variance.
    private var inverseDeviation: [Float] = []
    private var batchMeans: [Float] = []
    private var batchVariances: [Float] = []
    private var segments = 1

    public init(channels: Int, positions: Int = 1) {
        precondition(channels > 0 && positions > 0, "BatchNorm needs positive sizes")
        self.channels = channels
        self.positions = positions
        runningMean = [Float](repeating: 0, count: channels)
        runningVariance = [Float](repeating: 1, count: channels)
    }

    public var inputFeatures: Int { channels * positions }
    public var outputFeatures: Int { channels * positions }

    public var parameterSpecs: [ParameterSpec] {
        [ParameterSpec(name: "weight", shape: [channels], decays: false),
         ParameterSpec(name: "bias", shape: [channels], decays: false)]
    }

    public func bind(_ slots: [ParameterSlot]) {
        precondition(slots.count == 2 && slots[0].count == channels && slots[1].count == channels,
                     "BatchNorm bound to slots of the wrong sizes")
        weight = slots[0]
        bias = slots[1]
    }

    /// gamma = 1, beta = 0, running mean 0 and variance 1 (PyTorch's initial state).
    public func initialize(_ initializer: WeightInitializer, seed: UInt64, layerIndex: Int) {
        weight.values.update(repeating: 1, count: channels)
        bias.values.update(repeating: 0, count: channels)
        runningMean = [Float](repeating: 0, count: channels)
        runningVariance = [Float](repeating: 1, count: channels)
        batchesTracked = 0
    }

    /// Two per value: the normalisation and the affine map (the RigL paper's FLOP count).
    public var forwardFLOPsPerExample: Int { 2 * channels * positions }

    /// Each micro-batch's columns are normalised alone, with the same code whatever sits beside them.
    public func batchesMicrobatches(ofSize size: Int) -> Bool { true }

    public func forward(_ x: Matrix) -> Matrix {
        let started = StepProfile.start()
        defer { StepProfile.stop(.batchNorm, since: started) }
        precondition(x.rows == inputFeatures, "BatchNorm expects \(inputFeatures) input features, got \(x.rows)")
        let b = x.cols
        let y = Matrix.reuse(output, rows: outputFeatures, cols: b)
        output = y
        let gamma = weight.values, beta = bias.values
        let relu = appliesReLU
        guard isTraining else {
            for c in 0..<channels {
                let scale = gamma[c] / (runningVariance[c] + BatchNorm.epsilon).squareRoot()
                let shift = beta[c] - runningMean[c] * scale
                let base = c * positions * b, count = positions * b
                let (source, target) = (x.data + base, y.data + base)
                let scale8 = SIMD8<Float>(repeating: scale), shift8 = SIMD8<Float>(repeating: shift)
                var i = 0
                while i + 8 <= count {
                    let v = load8(source + i) * scale8 + shift8
                    store8(relu ? v.replacing(with: 0, where: v .< 0) : v, target + i)
                    i += 8
                }
                while i < count {
                    let v = source[i] * scale + shift
                    target[i] = relu && v < 0 ? 0 : v
                    i += 1
                }
            }
            return y
        }
        input = x
        let m = microbatchSize > 0 && b % microbatchSize == 0 ? microbatchSize : b
        segments = b / m
        let n = positions * m
        inverseDeviation = [Float](repeating: 0, count: segments * channels)
        batchMeans = inverseDeviation
        batchVariances = inverseDeviation
        for s in 0..<segments {
            for c in 0..<channels {
                let first = c * positions * b + s * m
                let sum = BatchNorm.sum(x.data + first, stride: b, positions: positions, m)
                let mean = Float(sum / Double(n))
                let squares = BatchNorm.squaredDeviations(x.data + first, stride: b, positions: positions, m, mean)
                let variance = Float(squares / Double(n))
                let inverse = 1 / (variance + BatchNorm.epsilon).squareRoot()
                inverseDeviation[s * channels + c] = inverse
                batchMeans[s * channels + c] = mean
                batchVariances[s * channels + c] = Float(squares / Double(max(n - 1, 1)))
                for p in 0..<positions {
                    let offset = first + p * b
                    BatchNorm.normalize(x.data + offset, m, mean: mean, inverse: inverse, gamma: gamma[c], beta: beta[c],
                                        relu: relu, y: y.data + offset)
                }
            }
        }
        return y
    }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        backward(dy, microbatches: segments, into: gradients, needInputGradient: needInputGradient)
    }

    public func backward(_ dy: Matrix, microbatches: Int, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        let started = StepProfile.start()
        defer { StepProfile.stop(.batchNorm, since: started) }
        guard isTraining, let x = input else { preconditionFailure("BatchNorm.backward outside a training pass") }
        precondition(dy.rows == outputFeatures && dy.cols == x.cols,
                     "BatchNorm.backward gradient shape mismatch")
        let b = dy.cols, m = b / segments, n = Float(positions * m)
        let gamma = weight.values, beta = bias.values, relu = appliesReLU
        let dGamma = weight.gradients(in: gradients), dBeta = bias.gradients(in: gradients)
        let dx = needInputGradient ? Matrix.reuse(inputGradient, rows: inputFeatures, cols: b) : nil
        if let dx { inputGradient = dx }
        let schedule = PairwiseTree<Int>.schedule(leaves: segments)
        var gammaSums = [Float](repeating: 0, count: segments), betaSums = gammaSums
        for c in 0..<channels {
            for s in 0..<segments {
                let first = c * positions * b + s * m
                let mean = batchMeans[s * channels + c], inverse = inverseDeviation[s * channels + c]
                let (sumDy, sumDyXhat) = BatchNorm.gradientSums(dy.data + first, x.data + first, stride: b, positions: positions, m,
                                                                mean: mean, inverse: inverse, gamma: gamma[c], beta: beta[c], relu: relu)
                betaSums[s] = Float(sumDy)
                gammaSums[s] = Float(sumDyXhat)
                guard let dx else { continue }
                let scale = gamma[c] * inverse
                let meanDy = betaSums[s] / n, meanDyXhat = gammaSums[s] / n
                for p in 0..<positions {
                    let offset = first + p * b
                    BatchNorm.inputGradient(dy.data + offset, x.data + offset, m, mean: mean, inverse: inverse, gamma: gamma[c],
                                            beta: beta[c], relu: relu, scale: scale, meanDy: meanDy, meanDyXhat: meanDyXhat,
                                            dx: dx.data + offset)
                }
            }
            for (left, right) in schedule.additions {
                betaSums[left] += betaSums[right]
                gammaSums[left] += gammaSums[right]
            }
            dBeta[c] = betaSums[schedule.root]
            dGamma[c] = gammaSums[schedule.root]
        }
        return dx
    }

    /// The per-channel means, then unbiased variances, of the last training pass.
    public var statisticsCount: Int { 2 * channels }

    /// Writes the last training pass's statistics, its micro-batches added in the pairwise tree.
    public func writeStatistics(into buffer: UnsafeMutablePointer<Float>) {
        let schedule = PairwiseTree<Int>.schedule(leaves: segments)
        var sums = [Float](repeating: 0, count: segments)
        for (values, offset) in [(batchMeans, 0), (batchVariances, channels)] {
            for c in 0..<channels {
                for s in 0..<segments { sums[s] = values[s * channels + c] }
                for (left, right) in schedule.additions { sums[left] += sums[right] }
                buffer[offset + c] = sums[schedule.root]
            }
        }
    }

    /// Moves the running statistics towards the global batch's: `sums` holds the sums over
    /// its `microbatches` micro-batches (`writeStatistics`, added across ranks).
    public func applyStatistics(_ sums: UnsafePointer<Float>, microbatches: Int) {
        let k = Float(microbatches), mu = BatchNorm.momentum
        for c in 0..<channels {
            runningMean[c] = (1 - mu) * runningMean[c] + mu * (sums[c] / k)
            runningVariance[c] = (1 - mu) * runningVariance[c] + mu * (sums[channels + c] / k)
        }
        batchesTracked += 1
    }

    /// Sets the running statistics (a checkpoint's, or a test's).
    public func setRunningStatistics(mean: [Float], variance: [Float], batchesTracked: Int) {
        precondition(mean.count == channels && variance.count == channels, "running statistics of \(channels) channels")
        runningMean = mean
        runningVariance = variance
        self.batchesTracked = batchesTracked
    }
}
