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
        let b = bias.values
        for i in 0..<outputFeatures {
            (y.data + i * batch).update(repeating: b[i], count: batch)
        }
        BLAS.sgemm(transA: false, transB: false, m: outputFeatures, n: batch, k: inputFeatures,
                   alpha: 1, a: weight.values, lda: inputFeatures, b: x.data, ldb: batch,
                   beta: 1, c: y.data, ldc: batch)
        return y
    }

    public func backward(_ dy: Matrix, needInputGradient: Bool) -> Matrix? {
        guard let x = input else { preconditionFailure("Linear.backward before forward") }
        precondition(dy.rows == outputFeatures && dy.cols == x.cols, "Linear.backward gradient shape mismatch")
        let batch = x.cols
        let weightGradient = weight.gradients, biasGradient = bias.gradients
        BLAS.sgemm(transA: false, transB: true, m: outputFeatures, n: inputFeatures, k: batch,
                   alpha: 1, a: dy.data, lda: batch, b: x.data, ldb: batch,
                   beta: 0, c: weightGradient, ldc: inputFeatures)
        for i in 0..<outputFeatures {
            biasGradient[i] = rowSum(dy.data + i * batch, batch)
        }
        guard needInputGradient else { return nil }
        let dx = Matrix.reuse(inputGradient, rows: inputFeatures, cols: batch)
        inputGradient = dx
        BLAS.sgemm(transA: true, transB: false, m: inputFeatures, n: batch, k: outputFeatures,
                   alpha: 1, a: weight.values, lda: inputFeatures, b: dy.data, ldb: batch,
                   beta: 0, c: dx.data, ldc: batch)
        return dx
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
