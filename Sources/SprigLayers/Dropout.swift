import SprigTensor

/// Dropout (Srivastava et al., JMLR 2014) with stateless masks: in training,
/// `y = x m / (1 - p)` with `m = [u >= p]`, `u` uniform from the stream (seed, dropout,
/// step, layer) advanced to (example, feature), where example is the example's position in
/// the global batch; backward `dx = dy m / (1 - p)`. So a value is dropped alike whichever
/// rank and micro-batch holds it, and a resumed run draws the same masks. In evaluation
/// the identity (PyTorch's inverted dropout).
public final class Dropout: Layer {
    public let features: Int
    public let rate: Float
    public var isTraining = false
    /// The step, and the global-batch position of the first column of the next forward pass.
    public var step = 0
    public var firstExample = 0
    private var seed: UInt64 = 0
    private var layerIndex = 0
    private var scaledMask: Matrix?
    private var output: Matrix?
    private var inputGradient: Matrix?

    public init(features: Int, rate: Double) {
        precondition(features > 0 && rate >= 0 && rate < 1, "Dropout needs a rate in [0, 1)")
        self.features = features
        self.rate = Float(rate)
    }

    public var inputFeatures: Int { features }
    public var outputFeatures: Int { features }

    /// Keeps the stream's key: no parameters.
    public func initialize(_ initializer: WeightInitializer, seed: UInt64, layerIndex: Int) {
        self.seed = seed
        self.layerIndex = layerIndex
    }

    /// Each column's mask depends on its position in the global batch alone.
    public func batchesMicrobatches(ofSize size: Int) -> Bool { true }

    public func forward(_ x: Matrix) -> Matrix {
        let started = StepProfile.start()
        defer { StepProfile.stop(.elementwise, since: started) }
        guard isTraining, rate > 0 else { return x }
        let b = x.cols
        let y = Matrix.reuse(output, rows: features, cols: b), m = Matrix.reuse(scaledMask, rows: features, cols: b)
        output = y
        scaledMask = m
        let stream = StatelessRandom(seed: seed, purpose: .dropout, step: step, layer: layerIndex)
        let keep = 1 / (1 - rate)
        for n in 0..<b {
            let base = (firstExample + n) * features
            for f in 0..<features {
                var random = stream.advanced(by: base + f)
                m.data[f * b + n] = random.nextUniform() >= rate ? keep : 0
            }
        }
        for i in 0..<y.count { y.data[i] = x.data[i] * m.data[i] }
        return y
    }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        let started = StepProfile.start()
        defer { StepProfile.stop(.elementwise, since: started) }
        guard needInputGradient else { return nil }
        guard isTraining, rate > 0, let m = scaledMask else { return dy }
        let dx = Matrix.reuse(inputGradient, rows: features, cols: dy.cols)
        inputGradient = dx
        for i in 0..<dx.count { dx.data[i] = dy.data[i] * m.data[i] }
        return dx
    }
}
