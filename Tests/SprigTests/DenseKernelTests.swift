import Testing
@testable import SprigLayers
@testable import SprigModels
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

/// `DenseKernels`: every element is its fixed chain of fused multiply-adds, whatever the
/// shapes, tiles and neighbouring columns, which is what lets a step run its micro-batches
/// side by side with their own bits.
@Suite struct DenseKernelTests {
    static func randomValues(_ n: Int, seed: UInt64) -> [Float] {
        var random = StatelessRandom(seed: seed, purpose: .shuffle)
        return (0..<n).map { _ in random.nextNormal() }
    }

    /// (The last two cross the blocks of the inner dimension (256), the rows (96) and the
    /// columns (512).)
    @Test(arguments: [(1, 1, 1), (5, 7, 3), (6, 16, 10), (13, 35, 17), (7, 40, 64), (12, 33, 1), (100, 21, 600), (3, 530, 260)])
    func everyElementIsItsChainOfFusedMultiplyAdds(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        let a = DenseKernelTests.randomValues(m * k, seed: 1), b = DenseKernelTests.randomValues(k * n, seed: 2)
        let bias = DenseKernelTests.randomValues(m, seed: 3)
        let workspace = DenseWorkspace()
        for transposed in [false, true] {
            for withBias in [false, true] {
                var c = [Float](repeating: .nan, count: m * n)
                a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in bias.withUnsafeBufferPointer { bias in
                    // A stored row-major (m x k) or as its transpose (k x m); B likewise.
                    let aOperand = transposed ? DenseKernels.Operand(a.baseAddress!, rowStride: 1, columnStride: m)
                                              : DenseKernels.Operand(a.baseAddress!, rowStride: k)
                    let bOperand = transposed ? DenseKernels.Operand(b.baseAddress!, rowStride: 1, columnStride: k)
                                              : DenseKernels.Operand(b.baseAddress!, rowStride: n)
                    c.withUnsafeMutableBufferPointer { c in
                        DenseKernels.multiply(m: m, n: n, k: k, a: aOperand, b: bOperand, rowInitial: withBias ? bias.baseAddress! : nil,
                                              c: c.baseAddress!, ldc: n, workspace: workspace)
                    }
                }}}
                for i in 0..<m {
                    for j in 0..<n {
                        let aAt = { (p: Int) in transposed ? a[p * m + i] : a[i * k + p] }
                        let bAt = { (p: Int) in transposed ? b[j * k + p] : b[p * n + j] }
                        var acc: Float = withBias ? bias[i] : 0
                        for p in 0..<k { acc = acc.addingProduct(aAt(p), bAt(p)) }
                        #expect(c[i * n + j].bitPattern == acc.bitPattern, "C[\(i), \(j)] of \(m)x\(n)x\(k), transposed \(transposed)")
                    }
                }
            }
        }
    }

    /// Operands given by the addresses of their runs of 16 give every element its chain too:
    /// B's panel rows (the forward product on `PatchPanels`) and A's runs of 16 inner indices
    /// (the weight gradient `P dY^T`), across the inner blocks (256), in two pieces of the
    /// inner dimension, and with edge tiles. C starts as NaN,
    /// so an element left unwritten fails the bitwise comparison.
    @Test(arguments: [(6, 16, 16), (13, 32, 48), (16, 48, 272), (27, 16, 512), (100, 37, 32)])
    func packedOperandsKeepEveryChain(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        let a = DenseKernelTests.randomValues(m * k, seed: 4), b = DenseKernelTests.randomValues(k * n, seed: 5)
        let bias = DenseKernelTests.randomValues(m, seed: 6)
        let workspace = DenseWorkspace()
        func chain(_ i: Int, _ j: Int, from start: Float) -> Float {
            var acc = start
            for p in 0..<k { acc = acc.addingProduct(a[i * k + p], b[p * n + j]) }
            return acc
        }
        // A in panels of 16 inner indices: A(i, l) at (l / 16) m 16 + i 16 + l % 16.
        var packedA = [Float](repeating: .nan, count: m * k)
        for i in 0..<m { for l in 0..<k { packedA[(l / 16) * m * 16 + i * 16 + l % 16] = a[i * k + l] } }
        // The addresses of A's runs: run q of row i at packedA + q m 16 + i 16.
        func addresses(_ packed: UnsafePointer<Float>, runs: Int) -> [UnsafePointer<Float>] {
            (0..<(runs * m)).map { packed + ($0 / m) * m * 16 + ($0 % m) * 16 }
        }
        var c = [Float](repeating: .nan, count: m * n)
        packedA.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
            DenseKernels.multiply(m: m, n: n, k: k, aRows: addresses(pa.baseAddress!, runs: k / 16), b: .init(b.baseAddress!, rowStride: n),
                                  c: c.baseAddress!, ldc: n, workspace: workspace)
        }}}
        for i in 0..<m { for j in 0..<n {
            #expect(c[i * n + j].bitPattern == chain(i, j, from: 0).bitPattern, "packed A: C[\(i), \(j)] of \(m)x\(n)x\(k)")
        }}
        // The same product in two pieces of the inner dimension, the second continuing the first.
        if k >= 32 {
            let split = (k / 32) * 16
            var first = [Float](repeating: 0, count: m * split), second = [Float](repeating: 0, count: m * (k - split))
            for i in 0..<m {
                for l in 0..<split { first[(l / 16) * m * 16 + i * 16 + l % 16] = a[i * k + l] }
                for l in split..<k { second[((l - split) / 16) * m * 16 + i * 16 + (l - split) % 16] = a[i * k + l] }
            }
            c = [Float](repeating: .nan, count: m * n)
            b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
                first.withUnsafeBufferPointer {
                    DenseKernels.multiply(m: m, n: n, k: split, aRows: addresses($0.baseAddress!, runs: split / 16),
                                          b: .init(b.baseAddress!, rowStride: n), c: c.baseAddress!, ldc: n, workspace: workspace)
                }
                second.withUnsafeBufferPointer {
                    DenseKernels.multiply(m: m, n: n, k: k - split, aRows: addresses($0.baseAddress!, runs: (k - split) / 16),
                                          b: .init(b.baseAddress! + split * n, rowStride: n), continuing: true, c: c.baseAddress!, ldc: n,
                                          workspace: workspace)
                }
            }}
            for i in 0..<m { for j in 0..<n {
                #expect(c[i * n + j].bitPattern == chain(i, j, from: 0).bitPattern, "continued: C[\(i), \(j)] of \(m)x\(n)x\(k)")
            }}
        }
        guard n % 16 == 0 else { return }
        // B in panels of 16 columns: B(l, j) at (j / 16) k 16 + l 16 + j % 16.
        var packedB = [Float](repeating: .nan, count: k * n)
        for l in 0..<k { for j in 0..<n { packedB[(j / 16) * k * 16 + l * 16 + j % 16] = b[l * n + j] } }
        c = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { a in packedB.withUnsafeBufferPointer { pb in bias.withUnsafeBufferPointer { bias in
            c.withUnsafeMutableBufferPointer { c in
                // Row l of panel q at packedB + q k 16 + l 16.
                let rows = (0..<(n / 16 * k)).map { pb.baseAddress! + $0 * 16 }
                DenseKernels.multiply(m: m, n: n, k: k, a: .init(a.baseAddress!, rowStride: k), bRows: rows,
                                      rowInitial: bias.baseAddress!, c: c.baseAddress!, ldc: n, workspace: workspace)
            }
        }}}
        for i in 0..<m { for j in 0..<n {
            #expect(c[i * n + j].bitPattern == chain(i, j, from: bias[i]).bitPattern, "packed B: C[\(i), \(j)] of \(m)x\(n)x\(k)")
        }}
    }

    /// `transpose` moves every value, in whole 8 x 8 blocks and at the edges.
    @Test(arguments: [(1, 1), (8, 8), (13, 21), (144, 16), (9, 64)])
    func transposeMovesEveryValue(shape: (Int, Int)) {
        let (rows, cols) = shape
        let a = DenseKernelTests.randomValues(rows * cols, seed: 8)
        var t = [Float](repeating: .nan, count: rows * cols)
        a.withUnsafeBufferPointer { a in t.withUnsafeMutableBufferPointer {
            DenseKernels.transpose(rows: rows, cols: cols, source: a.baseAddress!, target: $0.baseAddress!)
        }}
        var same = true
        for i in 0..<rows { for j in 0..<cols { same = same && t[j * rows + i].bitPattern == a[i * cols + j].bitPattern } }
        #expect(same, "transpose of \(rows) x \(cols)")
    }

    /// `PatchPanels.rowAddresses` gives the im2col patch matrix (rows (c, ky, kx), columns
    /// (y', x', n), zeros in the padding) panel row by panel row, chunk of positions by chunk, and
    /// `addPatchGradient` adds a chunk's patch gradient into the input gradient as the plain
    /// loop over (position, c, ky, kx) does; stride 1 and 2, 1 x 1, 3 x 3 and 5 x 5 kernels.
    @Test func patchPanelsHoldThePatchMatrix() {
        for (kernel, stride, padding) in [(3, 1, 1), (3, 2, 1), (1, 2, 0), (5, 1, 2)] {
            let g = ConvolutionGeometry(channels: 3, height: 7, width: 6, kernel: kernel, stride: stride, padding: padding)
            let rows = g.channels * kernel * kernel, table = PatchPanels.rowTable(g)
            for batch in [16, 32] {
                let x = randomMatrix(g.channels * g.height * g.width, batch, seed: UInt64(batch + kernel))
                let chunks = [0..<(g.positions / 3), (g.positions / 3)..<g.positions]
                var same = true
                let zeros = [Float](repeating: 0, count: 16)
                for chunk in chunks {
                    let count = rows * chunk.count * batch / 16
                    let addresses = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: count)
                    defer { addresses.deallocate() }
                    zeros.withUnsafeBufferPointer {
                        PatchPanels.rowAddresses(table: table, rowsPerPosition: rows, source: x, positions: chunk, zeros: $0.baseAddress!,
                                                 into: addresses)
                        for column in 0..<rows { for p in chunk { for n in 0..<batch {
                            let r = g.inputRow(column: column, oy: p / g.outputWidth, ox: p % g.outputWidth)
                            let expected: Float = r < 0 ? 0 : x[r, n]
                            let j = (p - chunk.lowerBound) * batch + n
                            same = same && addresses[(j / 16) * rows + column][j % 16].bitPattern == expected.bitPattern
                        }}}
                    }
                }
                #expect(same, "patch panels differ (kernel \(kernel), stride \(stride), padding \(padding), batch \(batch))")
                // The adjoint, chunk by chunk, against the plain loop in the same order.
                let dx = Matrix(rows: x.rows, cols: batch)
                var expected = [Float](repeating: 0, count: x.rows * batch)
                for chunk in chunks {
                    let width = chunk.count * batch
                    let dp = DenseKernelTests.randomValues(rows * width, seed: UInt64(chunk.lowerBound + 7))
                    dp.withUnsafeBufferPointer { PatchPanels.addPatchGradient(g, table: table, dp: $0.baseAddress!, positions: chunk, into: dx) }
                    for p in chunk { for column in 0..<rows {
                        let r = g.inputRow(column: column, oy: p / g.outputWidth, ox: p % g.outputWidth)
                        guard r >= 0 else { continue }
                        for n in 0..<batch { expected[r * batch + n] += dp[column * width + (p - chunk.lowerBound) * batch + n] }
                    }}
                }
                #expect(dx.values.map(\.bitPattern) == expected.map(\.bitPattern), "patch gradient differs (kernel \(kernel), batch \(batch))")
            }
        }
    }

    /// A dense convolution's input gradient: for stride 1 the transposed convolution gives
    /// each input value the chain of fused multiply-adds over (o, ky, kx) in order from zero
    /// (zeros outside the output map), bit for bit; for stride 2, col2im of `W^T dY` agrees
    /// with the definition to rounding. The result starts as NaN.
    @Test func panelConvolutionInputGradient() {
        for (kernel, stride, padding) in [(3, 1, 1), (5, 1, 0), (1, 1, 0), (3, 2, 1), (1, 2, 0)] {
            let g = ConvolutionGeometry(channels: 5, height: 7, width: 6, kernel: kernel, stride: stride, padding: padding)
            let o = 7, k = g.channels * kernel * kernel
            let weights = DenseKernelTests.randomValues(o * k, seed: UInt64(kernel * 10 + stride))
            let conv = PanelConvolution(geometry: g, outputChannels: o)
            for batch in [16, 32] {
                let dy = randomMatrix(o, g.positions * batch, seed: UInt64(batch))
                let dx = Matrix(rows: g.channels * g.height * g.width, cols: batch)
                dx.data.update(repeating: .nan, count: dx.count)
                weights.withUnsafeBufferPointer { conv.inputGradient(weights: $0.baseAddress!, dy: dy, into: dx) }
                var worst: Float = 0
                var bitwise = true
                for c in 0..<g.channels { for y in 0..<g.height { for x in 0..<g.width { for n in 0..<batch {
                    var chain: Float = 0, exact = 0.0
                    for oc in 0..<o { for ky in 0..<kernel { for kx in 0..<kernel {
                        let sy = y + padding - ky, sx = x + padding - kx
                        let inside = sy >= 0 && sx >= 0 && sy % stride == 0 && sx % stride == 0
                            && sy / stride < g.outputHeight && sx / stride < g.outputWidth
                        let v: Float = inside ? dy[oc, ((sy / stride) * g.outputWidth + sx / stride) * batch + n] : 0
                        let w = weights[oc * k + (c * kernel + ky) * kernel + kx]
                        chain = chain.addingProduct(w, v)
                        exact += Double(w) * Double(v)
                    }}}
                    let got = dx[(c * g.height + y) * g.width + x, n]
                    bitwise = bitwise && got.bitPattern == chain.bitPattern
                    let error = abs(Double(got) - exact)
                    worst = error.isNaN || worst.isNaN ? .nan : max(worst, Float(error))
                }}}}
                if stride == 1 {
                    #expect(bitwise, "stride 1, kernel \(kernel), batch \(batch): not the chain in order")
                } else {
                    #expect(worst <= 1e-4, "stride \(stride), kernel \(kernel), batch \(batch): off by \(worst)")
                }
            }
        }
    }

    /// Segments: each range summed from zero, the ranges added as the gradient tree adds
    /// micro-batches: ((s0 + s1) + (s2 + s3)) for four, (s0 + s1) + s2 for three.
    @Test(arguments: [1, 2, 3, 4, 5])
    func segmentsAddInThePairwiseTree(segments: Int) {
        let m = 7, n = 19, length = 5, k = segments * length
        let a = DenseKernelTests.randomValues(m * k, seed: 4), b = DenseKernelTests.randomValues(k * n, seed: 5)
        var c = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
            DenseKernels.multiply(m: m, n: n, k: k, segments: segments, a: .init(a.baseAddress!, rowStride: k),
                                  b: .init(b.baseAddress!, rowStride: n), c: c.baseAddress!, ldc: n, workspace: DenseWorkspace())
        }}}
        for i in 0..<m {
            for j in 0..<n {
                let s = (0..<segments).map { seg -> Float in
                    var acc: Float = 0
                    for p in (seg * length)..<((seg + 1) * length) { acc = acc.addingProduct(a[i * k + p], b[p * n + j]) }
                    return acc
                }
                let expected: Float
                switch segments {
                case 1: expected = s[0]
                case 2: expected = s[0] + s[1]
                case 3: expected = (s[0] + s[1]) + s[2]
                case 4: expected = (s[0] + s[1]) + (s[2] + s[3])
                default: expected = ((s[0] + s[1]) + (s[2] + s[3])) + s[4]
                }
                #expect(c[i * n + j].bitPattern == expected.bitPattern, "C[\(i), \(j)] with \(segments) segments")
            }
        }
    }

    /// A training step over micro-batches side by side (one pass) ends bitwise where one
    /// pass per micro-batch ends: dense layers, and dense math on expanded sparse layers
    /// (density above 0.3) with RigL's mask updates (which take the per-micro-batch path)
    /// between. Sparse kernels stay one micro-batch at a time.
    @Test(arguments: [(0.0, 4), (0.5, 4), (0.5, 3), (0.0, 2), (0.6, 8)])
    func microbatchesSideBySideGiveTheBitsOfOnePassEach(setting: (Double, Int)) {
        let (sparsity, microbatches) = setting
        let size = 8, batch = size * microbatches
        func run(sideBySide: Bool) -> (losses: [Double], values: [Float]) {
            let arch = ModelArchitecture.mlp(sizes: [20, 16, 12, 4])
            let model = Sequential(layers: arch.makeLayers(sparsities: [sparsity, sparsity, 0], seed: 2))
            model.initialize(.glorotUniform, seed: 2)
            #expect(model.batchesMicrobatches(ofSize: size))
            let sgd = SGD(store: model.store, settings: SGD.Settings(momentum: 0.9, nesterov: true, weightDecay: 1e-4))
            let policy: MaskPolicy? = sparsity > 0
                ? RigL(schedule: DropFractionSchedule(shape: .constant, alpha: 0.3, deltaT: 3, end: 1000), seed: 3) : nil
            let step = TrainingStep(model: model, optimizer: sgd, replicas: .single(), globalBatch: batch,
                                    microbatches: microbatches, policy: policy)
            step.batchesMicrobatches = sideBySide
            var random = StatelessRandom(seed: 5, purpose: .shuffle)
            var losses: [Double] = []
            for t in 1...8 {
                let x = (0..<microbatches).map { _ in
                    let m = Matrix(rows: 20, cols: size)
                    for i in 0..<m.count { m.data[i] = random.nextNormal() }
                    return m
                }
                let labels = (0..<microbatches).map { _ in (0..<size).map { _ in Int32(random.nextInt(below: 4)) } }
                losses.append(step(inputs: x, labels: labels, learningRate: 0.1, step: t))
            }
            return (losses, Array(UnsafeBufferPointer(start: model.store.values, count: model.store.count)))
        }
        let sparseKernels = Sequential(layers: ModelArchitecture.mlp(sizes: [20, 16, 12, 4]).makeLayers(sparsities: [0.8, 0.8, 0], seed: 2))
        #expect(!sparseKernels.batchesMicrobatches(ofSize: size))
        let alone = run(sideBySide: false), together = run(sideBySide: true)
        #expect(alone.losses.map(\.bitPattern) == together.losses.map(\.bitPattern))
        #expect(alone.values.map(\.bitPattern) == together.values.map(\.bitPattern))
    }
}
