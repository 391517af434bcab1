import SprigTensor

/// A fully connected layer whose weight matrix keeps only its active entries:
/// `Y = (M * W) X + b 1^T` (or without `b`, see `Linear`), with the mask M held as a CSR `SparsePattern` and only the
/// active weights stored (in the `ParameterStore`, in CSR order).
///
/// Gradients: active weights `dW_k = dY_i . X_(c_k)` (SDDMM), `db = dY 1`, `dX = (M*W)^T dY`.
/// Below `denseMathDensity` the products run on the sparse kernels (`SparseKernels`);
/// above it the layer expands its weights into a dense scratch matrix and multiplies it on
/// `DenseKernels`, which is faster there. On steps that ask for it (mask updates), the layer
/// also writes the dense gradient `dY X^T` of every position, active or not (RigL's grow
/// criterion), into the caller's dense-gradient buffer, with one dense product.
public final class SparseLinear: Layer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public private(set) var pattern: SparsePattern
    /// Above this density the layer uses dense math (`DenseKernels` on an expanded copy).
    public let denseMathDensity: Double
    /// Which fan-in scales the initial weights.
    public var fanIn: SparseFanIn
    private var weight: ParameterSlot!
    private var bias: ParameterSlot?
    /// Whether the layer has a bias `b`.
    public let hasBias: Bool
    /// Zeros standing for the bias of a layer without one, for the kernels.
    private let zeroBias: UnsafeMutablePointer<Float>?
    private var input: Matrix?
    private var output: Matrix?
    private var inputGradient: Matrix?
    private var denseWeights: Matrix?
    private var denseGradientScratch: Matrix?
    private let workspace = DenseWorkspace()
    /// The forward set, when one is declared (`setForwardSet`).
    var forwardSet: ForwardSet?

    public init(inputFeatures: Int, outputFeatures: Int, pattern: SparsePattern, denseMathDensity: Double = 0.3,
                fanIn: SparseFanIn = .dense, bias: Bool = true) {
        precondition(pattern.rows == outputFeatures && pattern.cols == inputFeatures, "pattern shape does not match the layer")
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        self.pattern = pattern
        self.denseMathDensity = denseMathDensity
        self.fanIn = fanIn
        hasBias = bias
        if bias {
            zeroBias = nil
        } else {
            zeroBias = .allocate(capacity: outputFeatures)
            zeroBias!.initialize(repeating: 0, count: outputFeatures)
        }
    }

    deinit { zeroBias?.deallocate() }

    public var parameterSpecs: [ParameterSpec] {
        [ParameterSpec(name: "weight", shape: [outputFeatures, inputFeatures], count: pattern.activeCount, decays: true, isSparse: true)]
            + (hasBias ? [ParameterSpec(name: "bias", shape: [outputFeatures], decays: false)] : [])
    }

    public func bind(_ slots: [ParameterSlot]) {
        precondition(slots.count == (hasBias ? 2 : 1) && slots[0].count == pattern.activeCount
                     && (!hasBias || slots[1].count == outputFeatures), "SparseLinear bound to slots of the wrong sizes")
        weight = slots[0]
        bias = hasBias ? slots[1] : nil
    }

    /// Counts the pattern's changes (`setPattern`), for tables derived from it.
    public private(set) var patternVersion = 0

    /// True when a backward pass into `gradients` needs the layer's input matrix itself,
    /// beyond the sparse products: for the dense gradient or the growth factors.
    public func needsInputMatrix(in gradients: GradientBuffers) -> Bool {
        gradients.factors != nil || weight.denseGradients(in: gradients) != nil
    }

    /// Where this step's dense weight gradient goes, when the step takes one (RigL's update steps).
    func denseGradientBuffer(in gradients: GradientBuffers) -> UnsafeMutablePointer<Float>? {
        weight.denseGradients(in: gradients)
    }

    /// This layer's weight-gradient (active entries) and bias-gradient (nil without a bias)
    /// buffers in `gradients`.
    public func gradientBuffers(in gradients: GradientBuffers) -> (weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?) {
        (weight.gradients(in: gradients), bias?.gradients(in: gradients))
    }

    /// The index of the weight tensor in the store.
    public var weightIndex: Int { weight.index }

    /// Initial weights as `Linear` draws them, position by position: the value at
    /// position `r * in + c` comes from the layer's stream advanced to that position's
    /// draws, so a layer costs time in proportion to its active weights (never the dense
    /// size) and has the same underlying draws whatever its mask. The scale follows
    /// `fanIn` (`SparseFanIn`): the dense fans give bitwise the dense layer's values at
    /// the active positions.
    public func initialize(_ initializer: WeightInitializer, seed: UInt64, layerIndex: Int) {
        let stream = StatelessRandom(seed: seed, purpose: .weightInit, layer: layerIndex)
        let draws = initializer.drawsPerValue
        let w = weight.values
        let denseScale = initializer.scale(fanIn: inputFeatures, fanOut: outputFeatures)
        // Glorot's sparse scale needs each column's active count (the neuron's fan-out).
        var columnCounts: [Int] = []
        if fanIn == .sparse && initializer == .glorotUniform {
            columnCounts = [Int](repeating: 0, count: inputFeatures)
            for c in pattern.columns { columnCounts[Int(c)] += 1 }
        }
        for r in 0..<outputFeatures {
            let (start, end) = (Int(pattern.rowStart[r]), Int(pattern.rowStart[r + 1]))
            let rowScale: Float? = fanIn == .dense ? denseScale
                : initializer == .heNormal ? initializer.scale(fanIn: end - start, fanOut: outputFeatures) : nil
            for k in start..<end {
                let c = Int(pattern.columns[k])
                var random = stream.advanced(by: (r * inputFeatures + c) * draws)
                let s = rowScale ?? initializer.scale(fanIn: end - start, fanOut: columnCounts[c])
                w[k] = initializer.sample(scale: s, random: &random)
            }
        }
        bias?.values.update(repeating: 0, count: outputFeatures)
    }

    public var usesDenseMath: Bool { pattern.density > denseMathDensity }

    public var forwardFLOPsPerExample: Int { 2 * pattern.activeCount }

    /// Bytes the layer holds besides the store: indices, and the dense scratch of the
    /// dense-math path.
    public var auxiliaryBytes: Int {
        pattern.bytes + (denseWeights?.count ?? 0) * 4 + (denseGradientScratch?.count ?? 0) * 4 + workspace.bytes
    }

    public func forward(_ x: Matrix) -> Matrix {
        precondition(x.rows == inputFeatures, "SparseLinear expects \(inputFeatures) input features, got \(x.rows)")
        let batch = x.cols
        let y = Matrix.reuse(output, rows: outputFeatures, cols: batch)
        output = y
        input = x
        if usesDenseMath {
            DenseProducts.forward(weights: expandedWeights().data, bias: bias?.values, x: x, y: y, workspace: workspace)
        } else {
            denseWeights = nil
            let (product, values) = sparseProduct()
            SparseKernels.forward(product, values: values, bias: biasValues.baseAddress!, x: x, y: y)
        }
        return y
    }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        guard let x = input else { preconditionFailure("SparseLinear.backward before forward") }
        return backward(dy, input: x, into: gradients, needInputGradient: needInputGradient)
    }

    /// On dense math (`DenseKernels`, whose elements do not depend on the columns beside
    /// them). The sparse kernels stay one micro-batch at a time: over all local micro-batches
    /// at once their rows of X and dY span several times the cache (measured 12% slower on
    /// LeNet-300-100 at 98% with 4 micro-batches of 32).
    public func batchesMicrobatches(ofSize size: Int) -> Bool { usesDenseMath }

    public func backward(_ dy: Matrix, microbatches: Int, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        guard let x = input else { preconditionFailure("SparseLinear.backward before forward") }
        return backward(dy, input: x, microbatches: microbatches, into: gradients, needInputGradient: needInputGradient)
    }

    /// The backward pass for the forward pass whose input was `x` (a convolution that
    /// skipped this layer's forward pass gives its patch matrix here), over `microbatches`
    /// micro-batches side by side (`Layer.backward(_:microbatches:into:needInputGradient:)`).
    public func backward(_ dy: Matrix, input x: Matrix, microbatches: Int = 1, into gradients: GradientBuffers,
                         needInputGradient: Bool) -> Matrix? {
        precondition(dy.rows == outputFeatures && dy.cols == x.cols && x.cols % microbatches == 0, "SparseLinear.backward gradient shape mismatch")
        let batch = x.cols
        let weightGradient = weight.gradients(in: gradients)
        let denseBuffer = weight.denseGradients(in: gradients)
        precondition(microbatches == 1 || (denseBuffer == nil && gradients.factors == nil),
                     "dense gradients and growth factors are taken one micro-batch at a time")
        gradients.factors?.record(weightIndex: weight.index, x: x, dy: dy)
        if let dense = denseBuffer ?? (usesDenseMath ? denseScratch() : nil) {
            DenseProducts.weightGradient(dy: dy, x: x, into: dense, microbatches: microbatches, workspace: workspace)
            gatherActive(from: dense, into: weightGradient)
        } else {
            precondition(microbatches == 1, "the sparse kernels take one micro-batch at a time")
            denseGradientScratch = nil
            SparseKernels.weightGradient(pattern, dy: dy, x: x, grad: weightGradient)
        }
        if let bias { biasGradient(dy, microbatches: microbatches, into: bias.gradients(in: gradients)) }
        guard needInputGradient else { return nil }
        let dx = Matrix.reuse(inputGradient, rows: inputFeatures, cols: batch)
        inputGradient = dx
        if usesDenseMath { // the expansion of this step's forward pass: weights have not changed since
            DenseProducts.inputGradient(weights: denseWeights!.data, dy: dy, into: dx, workspace: workspace)
        } else { // gathered again: a convolution may have run the forward pass on its own kernels
            let (product, values) = sparseProduct()
            SparseKernels.inputGradient(product, values: values, dy: dy, dx: dx)
        }
        return dx
    }

    /// Replaces the mask by `newPattern`: kept connections keep their weights and
    /// optimizer state; the connections in `fresh` (and any not active before) start at
    /// zero, with zero optimizer state. When the number of active weights changes (pruning),
    /// the store is resized.
    ///
    /// The mask's one mutation path (`ParameterStore+Mutation.swift`). It is called by the
    /// mask diffs (`SparseLinear.apply`: every update, SNIP's switch to dense, NNrelief's
    /// rounds, the initial masks of a policy) and by loading (checkpoint restore, weights
    /// read from a file), which set the values after.
    public func setPattern(_ newPattern: SparsePattern, fresh: Set<Int> = []) {
        precondition(newPattern.rows == outputFeatures && newPattern.cols == inputFeatures, "a mask keeps the layer's shape")
        patternVersion += 1
        setForwardSet(nil)
        var oldPosition: [Int: Int] = [:]
        oldPosition.reserveCapacity(pattern.activeCount)
        for (k, index) in pattern.activeIndices.enumerated() { oldPosition[index] = k }
        let source = newPattern.activeIndices.map { fresh.contains($0) ? nil : oldPosition[$0] }
        let sameSize = newPattern.activeCount == pattern.activeCount
        pattern = newPattern
        if sameSize {
            weight.store.remap(weight.index, source: source)
        } else {
            weight.store.resize(weight.index, source: source)
        }
    }

    /// Neurons whose bias is pruned (removed neurons): their bias and its optimizer state
    /// stay zero.
    public private(set) var frozenBiases: [Int] = []

    /// Adds `neurons` to the frozen biases and zeroes them.
    public func freezeBiases(_ neurons: [Int]) {
        guard !neurons.isEmpty else { return }
        frozenBiases = Array(Set(frozenBiases).union(neurons)).sorted()
        enforceFrozenBiases()
    }

    /// Zeroes the frozen biases and their optimizer state (after every optimizer step).
    public func enforceFrozenBiases() {
        guard !frozenBiases.isEmpty, let bias else { return }
        let store = bias.store
        for buffer in [store.values] + store.states {
            let b = buffer + store.offsets[bias.index]
            for j in frozenBiases { b[j] = 0 }
        }
    }

    /// The bias values (zeros for a layer without a bias).
    public var biasValues: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: bias?.values ?? zeroBias!, count: outputFeatures)
    }

    /// The active weights, in storage (CSR) order, read-only.
    public var activeWeights: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: weight.values, count: pattern.activeCount)
    }

    /// Lets `body` change the active weights' values (CSR order): the documented path by
    /// which a policy sets weights (`MaskPolicy.settle`; `ParameterStore+Mutation.swift`).
    public func updateActiveWeights(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        body(UnsafeMutableBufferPointer(start: weight.values, count: pattern.activeCount))
    }

    /// The dense weight matrix (zeros at inactive positions), rebuilt from the active values.
    func expandedWeights() -> Matrix {
        let w = Matrix.reuse(denseWeights, rows: outputFeatures, cols: inputFeatures)
        denseWeights = w
        w.data.update(repeating: 0, count: w.count)
        let values = weight.values
        for r in 0..<outputFeatures {
            for k in Int(pattern.rowStart[r])..<Int(pattern.rowStart[r + 1]) {
                w.data[r * inputFeatures + Int(pattern.columns[k])] = values[k]
            }
        }
        return w
    }

    func denseScratch() -> UnsafeMutablePointer<Float> {
        let m = Matrix.reuse(denseGradientScratch, rows: outputFeatures, cols: inputFeatures)
        denseGradientScratch = m
        return m.data
    }

    func gatherActive(from dense: UnsafeMutablePointer<Float>, into grad: UnsafeMutablePointer<Float>) {
        for r in 0..<outputFeatures {
            for k in Int(pattern.rowStart[r])..<Int(pattern.rowStart[r + 1]) {
                grad[k] = dense[r * inputFeatures + Int(pattern.columns[k])]
            }
        }
    }
}
