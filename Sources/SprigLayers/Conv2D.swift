import SprigTensor

/// A 2-D convolution over feature-major activations: the input is (C x H x W) x batch,
/// rows ordered (channel, y, x); the output is (O x H' x W') x batch the same way, with
/// `H' = (H + 2 padding - k) / stride + 1`.
///
/// Computed as im2col followed by a fully connected product: the patches form a matrix
/// `P` of (C k k) x (H' W' batch) (rows (c, ky, kx), columns (y', x', n)), and
/// `Y = W P + b`, with W the O x (C k k) kernel matrix, is exactly the output in
/// feature-major order. The product is a `Linear` or a `SparseLinear` (element-wise masks on
/// the kernels; NNrelief removes whole kernels by masking all their k x k entries), so
/// every sparse method, the dense-gradient machinery and export serve convolutions too.
/// Backward: the product's backward gives dW, db and dP; col2im adds dP back into dX.
///
/// That is the definition; the paths that run write no patch matrix (docs/ARCHITECTURE.md,
/// "Kernels"). A dense or masked dense product reads the patch matrix where it lies in the
/// input, through addresses (`PanelConvolution`), with micro-batches that are a multiple of
/// 16. A sparse product on its sparse kernels (`SparseConvolutionKernels`, micro-batches a
/// multiple of 8) reads the patches from the input for the forward pass and the weight
/// gradient (the same bits as on the patch matrix) and takes the input gradient as a
/// transposed convolution over the active taps; one example goes through
/// `SingleExampleConvolution`. Only steps that need the patch matrix itself (growth
/// factors, NNrelief's statistics) and other batch sizes build it.
public final class Conv2D: Layer {
    public let inputChannels: Int, inputHeight: Int, inputWidth: Int
    public let outputChannels: Int, kernel: Int, stride: Int, padding: Int
    public let outputHeight: Int, outputWidth: Int
    /// The shape of the convolution (output size included), shared with the kernels.
    public let geometry: ConvolutionGeometry
    /// The kernel product: Linear (dense) or SparseLinear (masked), (C k k) -> O.
    public let product: Layer
    private var patches: Matrix?
    private var inputGradient: Matrix?
    private var batch = 0
    /// The last forward pass's input, and whether `patches` holds its im2col.
    private var input: Matrix?
    private var patchesCurrent = false
    /// For the im2col-free path: the product's output, a row of zeros for the padding, and
    /// the input row of every (active entry, position), entry by entry for the weight
    /// gradient and position by position for the forward pass (`SparseConvolutionKernels`),
    /// for the pattern version `rowsVersion`.
    private var directOutput: Matrix?
    private var zeros: [Float] = []
    private var inputRows: [Int32] = []
    private var rowsByPosition: [Int32] = []
    private var rowsVersion = -1
    /// The taps seen from the input, for the transposed-convolution input gradient, for the
    /// pattern version `tapsVersion`.
    private var taps: TransposedTaps?
    private var tapsVersion = -1
    /// The dense products on patch panels (a dense product, a masked dense one, and the
    /// dense gradient of RigL's update steps).
    private lazy var panels = PanelConvolution(geometry: geometry, outputChannels: outputChannels)
    /// For one example on sparse kernels: the padded input and the entries' offsets in it,
    /// for the pattern version `singleOffsetsVersion`.
    private var paddedInput: [Float] = []
    private var singleOffsets: [Int32] = []
    private var singleOffsetsVersion = -1
    /// The expanded weights of a masked dense product's last forward pass on panels.
    private var maskedWeights: Matrix?
    /// How the last forward pass ran, which its backward pass follows.
    private enum Path { case direct, panels, patches }
    private var path = Path.patches

    public init(inputChannels: Int, inputHeight: Int, inputWidth: Int, outputChannels: Int, kernel: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = true, pattern: SparsePattern? = nil, denseMathDensity: Double = 0.3) {
        precondition(kernel > 0 && stride > 0 && padding >= 0, "bad convolution geometry")
        self.inputChannels = inputChannels
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.outputChannels = outputChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        geometry = ConvolutionGeometry(channels: inputChannels, height: inputHeight, width: inputWidth, kernel: kernel,
                                       stride: stride, padding: padding)
        outputHeight = geometry.outputHeight
        outputWidth = geometry.outputWidth
        precondition(outputHeight > 0 && outputWidth > 0, "the kernel does not fit the input")
        let k = inputChannels * kernel * kernel
        if let pattern {
            product = SparseLinear(inputFeatures: k, outputFeatures: outputChannels, pattern: pattern, denseMathDensity: denseMathDensity,
                                   bias: bias)
        } else {
            product = Linear(inputFeatures: k, outputFeatures: outputChannels, bias: bias)
        }
    }

    public var inputFeatures: Int { inputChannels * inputHeight * inputWidth }
    public var outputFeatures: Int { outputChannels * outputHeight * outputWidth }
    /// Positions of the output map.
    public var positions: Int { outputHeight * outputWidth }
    /// The dense kernel shape (O, C, k, k).
    public var kernelShape: [Int] { [outputChannels, inputChannels, kernel, kernel] }

    /// The patch matrix of the last forward pass ((C k k) x (positions x batch)), built
    /// now if that pass did not need it.
    public var lastPatches: Matrix? {
        guard let x = input else { return nil }
        return currentPatches(of: x)
    }


    private func currentPatches(of x: Matrix) -> Matrix {
        let p = Matrix.reuse(patches, rows: inputChannels * kernel * kernel, cols: positions * x.cols)
        patches = p
        if !patchesCurrent {
            im2col(x, into: p)
            patchesCurrent = true
        }
        return p
    }

    /// The sparse product, when it runs on sparse kernels and the im2col-free kernels give
    /// their bits for this batch (and the position table stays under 64 MB).
    private func directProduct(batch: Int) -> SparseLinear? {
        guard let sparse = product as? SparseLinear, !sparse.usesDenseMath, SparseConvolutionKernels.applies(batch: batch),
              sparse.pattern.activeCount * positions <= 16 << 20 else { return nil }
        if rowsVersion != sparse.patternVersion || rowsByPosition.count != sparse.pattern.activeCount * positions {
            inputRows = SparseConvolutionKernels.inputRows(sparse.pattern, geometry)
            rowsByPosition = SparseConvolutionKernels.byPosition(inputRows, activeCount: sparse.pattern.activeCount, positions: positions)
            rowsVersion = sparse.patternVersion
        }
        if zeros.count < batch { zeros = [Float](repeating: 0, count: batch) }
        return sparse
    }

    public var parameterSpecs: [ParameterSpec] {
        product.parameterSpecs.map { spec in
            var s = spec
            if s.name == "weight" { s.shape = kernelShape }
            return s
        }
    }

    public func bind(_ slots: [ParameterSlot]) { product.bind(slots) }

    public func initialize(_ initializer: WeightInitializer, seed: UInt64, layerIndex: Int) {
        product.initialize(initializer, seed: seed, layerIndex: layerIndex)
    }

    public var forwardFLOPsPerExample: Int { product.forwardFLOPsPerExample * positions }

    public func forward(_ x: Matrix) -> Matrix {
        precondition(x.rows == inputFeatures, "Conv2D expects \(inputFeatures) input features, got \(x.rows)")
        let started = StepProfile.start()
        defer { StepProfile.stop(.convolutionForward, since: started) }
        batch = x.cols
        input = x
        patchesCurrent = false
        if let sparse = directProduct(batch: batch) {
            path = .direct
            let y = Matrix.reuse(directOutput, rows: outputChannels, cols: positions * batch)
            directOutput = y
            zeros.withUnsafeBufferPointer { zeros in
                SparseConvolutionKernels.forward(sparse.pattern, rows: rowsByPosition, positions: positions,
                                                 values: sparse.activeWeights.baseAddress!, bias: sparse.biasValues.baseAddress!,
                                                 x: x, y: y, zeros: zeros.baseAddress!)
            }
            return Matrix(viewing: y, rows: outputFeatures, cols: batch)
        }
        if batch == 1, SingleExampleConvolution.applies(geometry), let sparse = product as? SparseLinear, !sparse.usesDenseMath {
            path = .patches // a backward pass builds the patches
            return singleExampleForward(sparse, x)
        }
        if PatchPanels.applies(batch: batch), let (weights, bias) = panelWeights() {
            path = .panels
            let y = Matrix.reuse(directOutput, rows: outputChannels, cols: positions * batch)
            directOutput = y
            panels.forward(weights: weights, bias: bias, x: x, y: y)
            return Matrix(viewing: y, rows: outputFeatures, cols: batch)
        }
        path = .patches
        let y = product.forward(currentPatches(of: x))
        return Matrix(viewing: y, rows: outputFeatures, cols: batch)
    }

    /// One example through sparse kernels with the output positions in the lanes
    /// (`SingleExampleConvolution`): the padded input, no patch matrix.
    private func singleExampleForward(_ sparse: SparseLinear, _ x: Matrix) -> Matrix {
        if singleOffsetsVersion != sparse.patternVersion || singleOffsets.count != sparse.pattern.activeCount {
            singleOffsets = SingleExampleConvolution.offsets(sparse.pattern, geometry)
            singleOffsetsVersion = sparse.patternVersion
        }
        let count = SingleExampleConvolution.paddedCount(geometry)
        if paddedInput.count != count { paddedInput = [Float](repeating: 0, count: count) }
        let y = Matrix.reuse(directOutput, rows: outputChannels, cols: positions)
        directOutput = y
        paddedInput.withUnsafeMutableBufferPointer { padded in
            SingleExampleConvolution.pad(geometry, x: x.data, into: padded.baseAddress!)
            SingleExampleConvolution.forward(sparse.pattern, geometry, offsets: singleOffsets, values: sparse.activeWeights.baseAddress!,
                                             bias: sparse.biasValues.baseAddress!, padded: padded.baseAddress!, y: y.data)
        }
        return Matrix(viewing: y, rows: outputFeatures, cols: 1)
    }

    /// The weights and bias of a dense product on panels: a `Linear`'s, or a masked dense
    /// product's expansion (zeros at inactive positions); nil for sparse kernels.
    private func panelWeights() -> (UnsafePointer<Float>, UnsafePointer<Float>?)? {
        if let linear = product as? Linear { return (UnsafePointer(linear.weightValues), linear.biasValues.map { UnsafePointer($0) }) }
        guard let sparse = product as? SparseLinear, sparse.usesDenseMath else { return nil }
        let w = sparse.expandedWeights()
        maskedWeights = w
        return (UnsafePointer(w.data), UnsafePointer(sparse.biasValues.baseAddress!))
    }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        let view = Matrix(viewing: dy, rows: outputChannels, cols: positions * batch)
        var started = StepProfile.start()
        guard path != .patches, let x = input, gradients.factors == nil || path == .direct || product is Linear else {
            defer { StepProfile.stop(.convolutionBackward, since: started) }
            let patches = currentPatches(of: input!)
            let dp: Matrix?
            if let sparse = product as? SparseLinear {
                dp = sparse.backward(view, input: patches, into: gradients, needInputGradient: needInputGradient)
            } else {
                dp = product.backward(view, into: gradients, needInputGradient: needInputGradient)
            }
            return dp.map(col2im)
        }
        // The weight gradient.
        if let linear = product as? Linear {
            let (weightGradient, biasGradient) = linear.gradientBuffers(in: gradients)
            panels.weightGradient(dy: view, x: x, into: weightGradient)
            if let biasGradient { biasSums(view, into: biasGradient) }
        } else if let sparse = product as? SparseLinear {
            let (weightGradient, biasGradient) = sparse.gradientBuffers(in: gradients)
            let dense = sparse.denseGradientBuffer(in: gradients)
            if gradients.factors != nil {
                _ = sparse.backward(view, input: currentPatches(of: x), into: gradients, needInputGradient: false)
            } else if path == .direct && dense == nil {
                directWeightGradient(sparse, view, x, weightGradient)
            } else if let dense = dense ?? (path == .panels ? sparse.denseScratch() : nil) {
                // Masked dense math, or the dense gradient of a mask-update step (RigL): all
                // of dW on panels, the active entries gathered.
                if PatchPanels.applies(batch: batch) {
                    panels.weightGradient(dy: view, x: x, into: dense)
                } else {
                    DenseProducts.weightGradient(dy: view, x: currentPatches(of: x), into: dense, workspace: DenseWorkspace())
                }
                sparse.gatherActive(from: dense, into: weightGradient)
            }
            if let biasGradient { biasSums(view, into: biasGradient) }
        }
        StepProfile.stop(.convolutionWeightGradient, since: started)
        guard needInputGradient else { return nil }
        started = StepProfile.start()
        defer { StepProfile.stop(.convolutionInputGradient, since: started) }
        if path == .direct { return transposedInputGradient(product as! SparseLinear, view) }
        let dx = Matrix.reuse(inputGradient, rows: inputFeatures, cols: batch)
        inputGradient = dx
        let weights = (product as? Linear)?.weightValues ?? maskedWeights!.data
        panels.inputGradient(weights: weights, dy: view, into: dx)
        return dx
    }

    /// `db = dY 1`, each output channel's sum over positions and examples.
    private func biasSums(_ dy: Matrix, into db: UnsafeMutablePointer<Float>) {
        for i in 0..<outputChannels { db[i] = rowSum(dy.data + i * dy.cols, dy.cols) }
    }

    /// `dX` from the patch gradient: col2im.
    private func col2im(_ dp: Matrix) -> Matrix {
        let dx = Matrix.reuse(inputGradient, rows: inputFeatures, cols: batch)
        inputGradient = dx
        col2im(dp, into: dx)
        return dx
    }

    /// `dX` of the sparse product as a transposed convolution over the active taps
    /// (`SparseConvolutionKernels.inputGradient`): no patch gradient, no col2im.
    private func transposedInputGradient(_ sparse: SparseLinear, _ dy: Matrix) -> Matrix {
        if tapsVersion != sparse.patternVersion || taps == nil {
            taps = TransposedTaps(sparse.pattern, geometry)
            tapsVersion = sparse.patternVersion
        }
        let dx = Matrix.reuse(inputGradient, rows: inputFeatures, cols: batch)
        inputGradient = dx
        SparseConvolutionKernels.inputGradient(taps!, values: sparse.activeWeights.baseAddress!, dy: dy, dx: dx)
        return dx
    }

    /// The weight gradient at the active entries of `SparseLinear.backward` on the patches,
    /// without them (`SparseConvolutionKernels`).
    private func directWeightGradient(_ sparse: SparseLinear, _ dy: Matrix, _ x: Matrix, _ weightGradient: UnsafeMutablePointer<Float>) {
        zeros.withUnsafeBufferPointer { zeros in
            SparseConvolutionKernels.weightGradient(sparse.pattern, rows: inputRows, positions: positions, dy: dy, x: x,
                                                    grad: weightGradient, zeros: zeros.baseAddress!)
        }
    }
}
