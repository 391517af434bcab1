import SprigTensor

/// A fully connected layer: `Y = W X + b 1^T`, with `W` out x in, `X` in x batch
/// (feature-major), `b` of length out (or `Y = W X` without a bias, as a convolution
/// before batch normalisation has in PyTorch's ResNets: `bias=False`).
///
/// Gradients, for the upstream gradient `dY`: `dW = dY X^T`, `db = dY 1`, `dX = W^T dY`.
/// The three products run on `DenseKernels`.
public final class Linear: Layer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    private var weight: ParameterSlot!
    private var bias: ParameterSlot?
    /// Whether the layer has a bias `b`.
    public let hasBias: Bool
    private var input: Matrix?
    private var output: Matrix?
    private var inputGradient: Matrix?
    private let workspace = DenseWorkspace()

    public init(inputFeatures: Int, outputFeatures: Int, bias: Bool = true) {
        precondition(inputFeatures > 0 && outputFeatures > 0, "Linear needs positive sizes")
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        hasBias = bias
    }

    public var parameterSpecs: [ParameterSpec] {
        [ParameterSpec(name: "weight", shape: [outputFeatures, inputFeatures], decays: true)]
            + (hasBias ? [ParameterSpec(name: "bias", shape: [outputFeatures], decays: false)] : [])
    }

    public func bind(_ slots: [ParameterSlot]) {
        precondition(slots.count == (hasBias ? 2 : 1) && slots[0].count == outputFeatures * inputFeatures
                     && (!hasBias || slots[1].count == outputFeatures), "Linear bound to slots of the wrong sizes")
        weight = slots[0]
        bias = hasBias ? slots[1] : nil
    }

    public func initialize(_ initializer: WeightInitializer, seed: UInt64, layerIndex: Int) {
        var random = StatelessRandom(seed: seed, purpose: .weightInit, layer: layerIndex)
        initializer.fill(weight.values, count: weight.count, fanIn: inputFeatures, fanOut: outputFeatures, random: &random)
        bias?.values.update(repeating: 0, count: outputFeatures)
    }

    public var forwardFLOPsPerExample: Int { 2 * inputFeatures * outputFeatures }

    /// `W` (out x in, row-major) and `b`, for a layer that runs this product itself (`Conv2D`).
    var weightValues: UnsafeMutablePointer<Float> { weight.values }
    var biasValues: UnsafeMutablePointer<Float>? { bias?.values }

    /// Where `dW` and `db` go in `gradients`.
    func gradientBuffers(in gradients: GradientBuffers) -> (weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?) {
        (weight.gradients(in: gradients), bias?.gradients(in: gradients))
    }

    public func forward(_ x: Matrix) -> Matrix {
        precondition(x.rows == inputFeatures, "Linear expects \(inputFeatures) input features, got \(x.rows)")
        let batch = x.cols
        let y = Matrix.reuse(output, rows: outputFeatures, cols: batch)
        output = y
        input = x
        DenseProducts.forward(weights: weight.values, bias: bias?.values, x: x, y: y, workspace: workspace)
        return y
    }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        backward(dy, microbatches: 1, into: gradients, needInputGradient: needInputGradient)
    }

    public func batchesMicrobatches(ofSize size: Int) -> Bool { true }

    public func backward(_ dy: Matrix, microbatches: Int, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        guard let x = input else { preconditionFailure("Linear.backward before forward") }
        precondition(dy.rows == outputFeatures && dy.cols == x.cols && x.cols % microbatches == 0, "Linear.backward gradient shape mismatch")
        DenseProducts.weightGradient(dy: dy, x: x, into: weight.gradients(in: gradients), microbatches: microbatches, workspace: workspace)
        if let bias { biasGradient(dy, microbatches: microbatches, into: bias.gradients(in: gradients)) }
        guard needInputGradient else { return nil }
        let dx = Matrix.reuse(inputGradient, rows: inputFeatures, cols: x.cols)
        inputGradient = dx
        DenseProducts.inputGradient(weights: weight.values, dy: dy, into: dx, workspace: workspace)
        return dx
    }
}

/// The three products of a dense layer `W` (out x in, row-major) with feature-major
/// activations, on `DenseKernels` (each element's sum in a fixed order, whatever the batch):
/// `Y = W X + b 1^T`, `dW = dY X^T`, `dX = W^T dY`.
enum DenseProducts {
    static func forward(weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, x: Matrix, y: Matrix, workspace: DenseWorkspace) {
        DenseKernels.multiply(m: y.rows, n: x.cols, k: x.rows, a: .init(weights, rowStride: x.rows), b: .init(x.data, rowStride: x.cols),
                              rowInitial: bias, c: y.data, ldc: x.cols, workspace: workspace)
    }

    /// `dW = dY X^T`; with `microbatches` > 1, the columns are that many micro-batches side
    /// by side and `dW` is the pairwise-tree sum of their products (`DenseKernels`' segments).
    static func weightGradient(dy: Matrix, x: Matrix, into dw: UnsafeMutablePointer<Float>, microbatches: Int = 1,
                               workspace: DenseWorkspace) {
        DenseKernels.multiply(m: dy.rows, n: x.rows, k: x.cols, segments: microbatches, a: .init(dy.data, rowStride: dy.cols),
                              b: .init(x.data, rowStride: 1, columnStride: x.cols), c: dw, ldc: x.rows, workspace: workspace)
    }

    static func inputGradient(weights: UnsafePointer<Float>, dy: Matrix, into dx: Matrix, workspace: DenseWorkspace) {
        DenseKernels.multiply(m: dx.rows, n: dy.cols, k: dy.rows, a: .init(weights, rowStride: 1, columnStride: dx.rows),
                              b: .init(dy.data, rowStride: dy.cols), rowInitial: nil, c: dx.data, ldc: dy.cols, workspace: workspace)
    }
}

/// The bias gradient `db = dY 1` of `microbatches` micro-batches side by side in `dy`'s
/// columns: each row's sum over each micro-batch (`rowSum`), the micro-batches added in the
/// pairwise tree (`PairwiseTree.schedule`), as the gradient tree adds them.
func biasGradient(_ dy: Matrix, microbatches: Int, into db: UnsafeMutablePointer<Float>) {
    let n = dy.cols
    guard microbatches > 1 else {
        for i in 0..<dy.rows { db[i] = rowSum(dy.data + i * n, n) }
        return
    }
    let size = n / microbatches
    let schedule = PairwiseTree<Int>.schedule(leaves: microbatches)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: microbatches) { sums in
        for i in 0..<dy.rows {
            for s in 0..<microbatches { sums[s] = rowSum(dy.data + i * n + s * size, size) }
            for (left, right) in schedule.additions { sums[left] += sums[right] }
            db[i] = sums[schedule.root]
        }
    }
}

/// The sum of `n` floats, with eight SIMD lanes (Swift does not vectorise float
/// reductions by itself).
@inline(__always)
func rowSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 8 <= n {
        acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var s = acc.sum()
    while i < n {
        s += p[i]
        i += 1
    }
    return s
}
