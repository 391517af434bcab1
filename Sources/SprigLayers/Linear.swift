import SprigTensor

/// A fully connected layer: `Y = W X + b 1^T`, with `W` out x in, `X` in x batch
/// (feature-major), `b` of length out.
///
/// Gradients, for the upstream gradient `dY`: `dW = dY X^T`, `db = dY 1`, `dX = W^T dY`.
/// All three products are one cblas_sgemm each.
public final class Linear: Layer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    private var weight: ParameterSlot!
    private var bias: ParameterSlot!
    private var input: Matrix?
    private var output: Matrix?
    private var inputGradient: Matrix?

    public init(inputFeatures: Int, outputFeatures: Int) {
        precondition(inputFeatures > 0 && outputFeatures > 0, "Linear needs positive sizes")
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
    }

    public var parameterSpecs: [ParameterSpec] {
        [ParameterSpec(name: "weight", shape: [outputFeatures, inputFeatures], decays: true),
         ParameterSpec(name: "bias", shape: [outputFeatures], decays: false)]
    }

    public func bind(_ slots: [ParameterSlot]) {
        precondition(slots.count == 2 && slots[0].count == outputFeatures * inputFeatures && slots[1].count == outputFeatures,
                     "Linear bound to slots of the wrong sizes")
        weight = slots[0]
        bias = slots[1]
    }

    public func initialize(_ initializer: WeightInitializer, seed: UInt64, layerIndex: Int) {
        var random = StatelessRandom(seed: seed, purpose: .weightInit, layer: layerIndex)
        initializer.fill(weight.values, count: weight.count, fanIn: inputFeatures, fanOut: outputFeatures, random: &random)
        bias.values.update(repeating: 0, count: bias.count)
    }

    public var forwardFLOPsPerExample: Int { 2 * inputFeatures * outputFeatures }

    public func forward(_ x: Matrix) -> Matrix {
        precondition(x.rows == inputFeatures, "Linear expects \(inputFeatures) input features, got \(x.rows)")
        let batch = x.cols
        let y = Matrix.reuse(output, rows: outputFeatures, cols: batch)
        output = y
        input = x
        DenseProducts.forward(weights: weight.values, bias: bias.values, x: x, y: y)
        return y
    }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        guard let x = input else { preconditionFailure("Linear.backward before forward") }
        precondition(dy.rows == outputFeatures && dy.cols == x.cols, "Linear.backward gradient shape mismatch")
        let batch = x.cols
        let biasGradient = bias.gradients(in: gradients)
        DenseProducts.weightGradient(dy: dy, x: x, into: weight.gradients(in: gradients))
        for i in 0..<outputFeatures {
            biasGradient[i] = rowSum(dy.data + i * batch, batch)
        }
        guard needInputGradient else { return nil }
        let dx = Matrix.reuse(inputGradient, rows: inputFeatures, cols: batch)
        inputGradient = dx
        DenseProducts.inputGradient(weights: weight.values, dy: dy, into: dx)
        return dx
    }
}

/// The three products of a dense layer `W` (out x in, row-major) with feature-major
/// activations, one cblas_sgemm each: `Y = W X + b 1^T`, `dW = dY X^T`, `dX = W^T dY`.
enum DenseProducts {
    static func forward(weights: UnsafePointer<Float>, bias: UnsafePointer<Float>, x: Matrix, y: Matrix) {
        let batch = x.cols
        for i in 0..<y.rows { (y.data + i * batch).update(repeating: bias[i], count: batch) }
        BLAS.sgemm(transA: false, transB: false, m: y.rows, n: batch, k: x.rows,
                   alpha: 1, a: weights, lda: x.rows, b: x.data, ldb: batch, beta: 1, c: y.data, ldc: batch)
    }

    /// The products that overwrite their output zero it with memset and accumulate into it
    /// (beta 1): OpenBLAS's beta-0 call zeroes the output with its own, slower loop and
    /// then accumulates the same way, so the bits are the same.
    static func weightGradient(dy: Matrix, x: Matrix, into dw: UnsafeMutablePointer<Float>) {
        dw.update(repeating: 0, count: dy.rows * x.rows)
        BLAS.sgemm(transA: false, transB: true, m: dy.rows, n: x.rows, k: x.cols,
                   alpha: 1, a: dy.data, lda: x.cols, b: x.data, ldb: x.cols, beta: 1, c: dw, ldc: x.rows)
    }

    static func inputGradient(weights: UnsafePointer<Float>, dy: Matrix, into dx: Matrix) {
        dx.data.update(repeating: 0, count: dx.count)
        BLAS.sgemm(transA: true, transB: false, m: dx.rows, n: dy.cols, k: dy.rows,
                   alpha: 1, a: weights, lda: dx.rows, b: dy.data, ldb: dy.cols, beta: 1, c: dx.data, ldc: dy.cols)
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
