import Foundation
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

@Suite struct ConvTests {
    /// The im2col-free kernels give bitwise `SparseKernels`' results on the patch matrix,
    /// forward and weight gradient, with padding and stride, for batches of 8, 16, 32 (the
    /// two-position and unrolled paths) and 40, odd and even counts of positions, and rows
    /// long enough for the kernels' eight-, four- and one-entry groups.
    @Test func im2colFreeKernelsGiveTheSameBits() {
        for (stride, padding) in [(1, 1), (2, 0), (1, 2)] {
            let g = ConvolutionGeometry(channels: 3, height: 7, width: 5, kernel: 3, stride: stride, padding: padding)
            let columns = g.channels * g.kernel * g.kernel
            var random = StatelessRandom(seed: UInt64(stride * 10 + padding), purpose: .shuffle)
            let active = (0..<(4 * columns)).filter { _ in random.nextInt(below: 10) < 6 }
            let pattern = SparsePattern(rows: 4, cols: columns, activeIndices: active)
            let values = (0..<pattern.activeCount).map { _ in random.nextNormal() }
            let bias: [Float] = [0.5, -0.25, 0, 1]
            let rows = SparseConvolutionKernels.inputRows(pattern, g)
            for batch in [8, 16, 32, 40] {
                let x = randomMatrix(g.channels * g.height * g.width, batch, seed: UInt64(batch))
                // The patch matrix, written out: rows (c, ky, kx), columns (y', x', n).
                let p = Matrix(rows: columns, cols: g.positions * batch)
                for column in 0..<columns { for oy in 0..<g.outputHeight { for ox in 0..<g.outputWidth {
                    let r = g.inputRow(column: column, oy: oy, ox: ox)
                    for n in 0..<batch {
                        p[column, (oy * g.outputWidth + ox) * batch + n] = r < 0 ? 0 : x[r, n]
                    }
                } } }
                let zeros = [Float](repeating: 0, count: batch)
                let expected = Matrix(rows: 4, cols: g.positions * batch), direct = Matrix(rows: 4, cols: g.positions * batch)
                SparseKernels.forward(pattern, values: values, bias: bias, x: p, y: expected)
                SparseConvolutionKernels.forward(pattern, rows: SparseConvolutionKernels.byPosition(rows, activeCount: pattern.activeCount,
                                                                                    positions: g.positions),
                                                 positions: g.positions, values: values, bias: bias,
                                                 x: x, y: direct, zeros: zeros)
                #expect(expected.values.map(\.bitPattern) == direct.values.map(\.bitPattern),
                        "forward differs (stride \(stride), padding \(padding), batch \(batch))")
                let dy = randomMatrix(4, g.positions * batch, seed: 99)
                var gradExpected = [Float](repeating: 0, count: pattern.activeCount), gradDirect = gradExpected
                SparseKernels.weightGradient(pattern, dy: dy, x: p, grad: &gradExpected)
                SparseConvolutionKernels.weightGradient(pattern, rows: rows, positions: g.positions, dy: dy, x: x,
                                                        grad: &gradDirect, zeros: zeros)
                #expect(gradExpected.map(\.bitPattern) == gradDirect.map(\.bitPattern),
                        "weight gradient differs (stride \(stride), padding \(padding), batch \(batch))")
            }
            #expect(!SparseConvolutionKernels.applies(batch: 12), "a batch that is not a multiple of 8 takes im2col")
        }
    }

    /// One example with the positions in the lanes gives every output its chain of fused
    /// multiply-adds from the bias (what `SparseKernels.forward` gives on the patch matrix in
    /// its SIMD lanes), for 1 x 1, 3 x 3 and 5 x 5 kernels, with and without padding, and output
    /// widths that are and are not multiples of 8 and 16.
    @Test func singleExampleConvolutionGivesThePatchProductsBits() {
        for (kernel, padding, width) in [(3, 1, 16), (3, 1, 13), (1, 0, 8), (5, 2, 21), (3, 0, 11)] {
            let g = ConvolutionGeometry(channels: 3, height: 6, width: width, kernel: kernel, stride: 1, padding: padding)
            let columns = g.channels * kernel * kernel
            var random = StatelessRandom(seed: UInt64(kernel * 100 + width), purpose: .shuffle)
            let pattern = SparsePattern(rows: 5, cols: columns, activeIndices: (0..<(5 * columns)).filter { _ in random.nextInt(below: 10) < 3 })
            let values = (0..<pattern.activeCount).map { _ in random.nextNormal() }
            let bias: [Float] = [0.5, -0.25, 0, 1, 2]
            let x = randomMatrix(g.channels * g.height * g.width, 1, seed: UInt64(width))
            // The plain loop: each output the chain of fused multiply-adds over its row's
            // active entries in order, from the bias, reading 0 in the padding.
            var expected = [Float](repeating: 0, count: 5 * g.positions)
            for i in 0..<5 { for q in 0..<g.positions {
                var acc = bias[i]
                for k in Int(pattern.rowStart[i])..<Int(pattern.rowStart[i + 1]) {
                    let r = g.inputRow(column: Int(pattern.columns[k]), oy: q / g.outputWidth, ox: q % g.outputWidth)
                    acc = acc.addingProduct(values[k], r < 0 ? 0 : x[r, 0])
                }
                expected[i * g.positions + q] = acc
            }}
            var padded = [Float](repeating: .nan, count: SingleExampleConvolution.paddedCount(g))
            var y = [Float](repeating: .nan, count: 5 * g.positions)
            padded.withUnsafeMutableBufferPointer { padded in
                SingleExampleConvolution.pad(g, x: x.data, into: padded.baseAddress!)
                y.withUnsafeMutableBufferPointer {
                    SingleExampleConvolution.forward(pattern, g, offsets: SingleExampleConvolution.offsets(pattern, g), values: values,
                                                     bias: bias, padded: padded.baseAddress!, y: $0.baseAddress!)
                }
            }
            #expect(y.map(\.bitPattern) == expected.map(\.bitPattern), "kernel \(kernel), padding \(padding), width \(width)")
        }
    }

    /// The transposed-convolution input gradient equals, bit for bit, the plain loop that
    /// adds `w dY` into each input value in the order (o, k, y', x') with one fused
    /// multiply-add each, from zero; for stride 1 and 2, 1 x 1 and 3 x 3 kernels, padding,
    /// and batches that are and are not multiples of 8 and 32. Entries it failed to write
    /// would keep the NaN it starts from, and NaN is unequal to every bit pattern compared.
    @Test func transposedInputGradientMatchesThePlainLoop() {
        for (kernel, stride, padding) in [(3, 1, 1), (3, 2, 1), (1, 2, 0), (1, 1, 0), (3, 1, 2)] {
            let g = ConvolutionGeometry(channels: 5, height: 8, width: 7, kernel: kernel, stride: stride, padding: padding)
            let columns = g.channels * kernel * kernel, outputs = 6
            var random = StatelessRandom(seed: UInt64(kernel * 100 + stride * 10 + padding), purpose: .shuffle)
            let active = (0..<(outputs * columns)).filter { _ in random.nextInt(below: 10) < 4 }
            let pattern = SparsePattern(rows: outputs, cols: columns, activeIndices: active)
            let values = (0..<pattern.activeCount).map { _ in random.nextNormal() }
            let taps = TransposedTaps(pattern, g)
            for batch in [1, 8, 13, 32, 40] {
                let dy = randomMatrix(outputs, g.positions * batch, seed: UInt64(batch))
                let expected = [Float](unsafeUninitializedCapacity: g.channels * g.height * g.width * batch) { buffer, count in
                    buffer.initialize(repeating: 0)
                    for o in 0..<outputs {
                        for k in Int(pattern.rowStart[o])..<Int(pattern.rowStart[o + 1]) {
                            for p in 0..<g.positions {
                                let r = g.inputRow(column: Int(pattern.columns[k]), oy: p / g.outputWidth, ox: p % g.outputWidth)
                                guard r >= 0 else { continue }
                                for n in 0..<batch {
                                    buffer[r * batch + n] = buffer[r * batch + n].addingProduct(values[k], dy[o, p * batch + n])
                                }
                            }
                        }
                    }
                    count = buffer.count
                }
                let dx = Matrix(rows: g.channels * g.height * g.width, cols: batch)
                dx.data.update(repeating: .nan, count: dx.count)
                SparseConvolutionKernels.inputGradient(taps, values: values, dy: dy, dx: dx)
                #expect(dx.values.map(\.bitPattern) == expected.map(\.bitPattern),
                        "input gradient differs (kernel \(kernel), stride \(stride), padding \(padding), batch \(batch))")
            }
        }
    }

    /// Conv2D's forward pass equals the convolution written out directly.
    @Test func convolutionMatchesTheDefinition() {
        let conv = Conv2D(inputChannels: 2, inputHeight: 5, inputWidth: 4, outputChannels: 3, kernel: 3, stride: 2, padding: 1)
        let model = Sequential(layers: [conv])
        model.initialize(.heNormal, seed: 4)
        for i in 0..<3 { model.store.values[model.store.offsets[1] + i] = Float(i) * 0.1 }
        let batch = 2
        let x = randomMatrix(2 * 5 * 4, batch, seed: 1)
        let y = model.forward(x)
        #expect(conv.outputHeight == 3 && conv.outputWidth == 2)
        let w = model.store.valuesArray(0), b = model.store.valuesArray(1)
        for o in 0..<3 { for oy in 0..<3 { for ox in 0..<2 { for n in 0..<batch {
            var s = b[o]
            for c in 0..<2 { for ky in 0..<3 { for kx in 0..<3 {
                let iy = oy * 2 + ky - 1, ix = ox * 2 + kx - 1
                guard iy >= 0 && iy < 5 && ix >= 0 && ix < 4 else { continue }
                s += w[((o * 2 + c) * 3 + ky) * 3 + kx] * x[(c * 5 + iy) * 4 + ix, n]
            } } }
            #expect(abs(y[(o * 3 + oy) * 2 + ox, n] - s) < 1e-5)
        } } } }
    }

    /// A conv net (conv, ReLU, max-pool, conv, ReLU, fc) passes central differences, for
    /// dense kernels and for masked (sparse) kernels on both math paths; and the sparse path
    /// equals the masked dense computation.
    @Test func convNetGradientsAndSparsePath() {
        let arch = ModelArchitecture.network(input: [2, 6, 6], layers: [
            .conv(channels: 3, kernel: 3, padding: 1), .pool(size: 2), .conv(channels: 4, kernel: 2), .fc(outputs: 3)])
        #expect(arch.weightShapes.map(\.name) == ["conv1", "conv2", "fc1"])
        #expect(arch.weightShapes.map(\.shape) == [[3, 2, 3, 3], [4, 3, 2, 2], [3, 16]])
        // Batch 4 takes im2col; 16 the patch panels (dense and masked dense products) and
        // the im2col-free sparse kernels.
        var smallChecked = 0
        for batch in [4, 16] {
        let x = randomMatrix(72, batch, seed: 2)
        let labels: [Int32] = (0..<batch).map { Int32(($0 * 7 + 2) % 3) }
        let scale = 1 / Float(batch)
        let loss = SoftmaxCrossEntropy()
        func build(_ sparsities: [Double]?, denseMath: Double) -> Sequential {
            let m = Sequential(layers: arch.makeLayers(sparsities: sparsities, seed: 5, denseMathDensity: denseMath,
                                                       convDenseMathDensity: denseMath))
            m.initialize(.heNormal, seed: 5)
            return m
        }
        func gradients(_ m: Sequential) -> [Float] {
            let (_, dz) = loss(m.forward(x), labels: labels, gradientScale: scale)
            return m.backwardGradients(dz!)
        }
        for sparsities in [nil, [0.5, 0.5, 0.3]] as [[Double]?] {
            let m = build(sparsities, denseMath: 1.1)
            let g = gradients(m)
            if sparsities != nil {
                let denseMath = build(sparsities, denseMath: 0)
                let gd = gradients(denseMath)
                let diff = worstError(zip(g, gd).map { Double(abs($0 - $1)) })
                #expect(diff < 1e-5 * Double(max(1, g.map { abs($0) }.max()!)), "sparse and dense-math paths differ by \(diff)")
                #expect(m.forward(x).values.enumerated().allSatisfy { abs($1 - denseMath.forward(x).values[$0]) < 1e-5 })
            }
            // Central differences of the same network evaluated in Double (h = 1e-6: rounding
            // and truncation errors near 1e-9), so that every gradient, small ones included,
            // is checked to |numeric - analytic| <= 2e-7 + 1e-4 |numeric| (the float gradients
            // come ten times closer than that).
            let v = (0..<m.store.count).map { Double(m.store.values[$0]) }
            let floatLoss = loss(m.forward(x), labels: labels, gradientScale: nil).0.lossSum / Double(batch)
            #expect(abs(doubleLoss(m, v, x: x, labels: labels) - floatLoss) < 1e-5, "the Double network is not the same network")
            var failing: [String] = []
            for i in 0..<m.store.count {
                let h = 1e-6
                var plus = v, minus = v
                plus[i] += h
                minus[i] -= h
                let numeric = (doubleLoss(m, plus, x: x, labels: labels) - doubleLoss(m, minus, x: x, labels: labels)) / (2 * h)
                if abs(numeric) < 1e-3 && numeric != 0 { smallChecked += 1 }
                if abs(numeric - Double(g[i])) > 2e-7 + 1e-4 * abs(numeric) { failing.append("\(i): \(numeric) vs \(g[i])") }
            }
            #expect(failing.isEmpty, "parameters fail the finite-difference check (sparse: \(sparsities != nil)): \(failing)")
        }
        }
        #expect(smallChecked > 0, "no gradient below 1e-3 was checked")
    }

    /// The loss of `convNetGradientsAndSparsePath`'s network (conv 3@3x3 pad 1, ReLU, pool 2,
    /// conv 4@2x2, ReLU, fc 3 on 2 x 6 x 6 inputs), written out in Double, with the
    /// parameters `v` laid out like `m`'s store (sparse tensors hold their active values).
    private func doubleLoss(_ m: Sequential, _ v: [Double], x: Matrix, labels: [Int32]) -> Double {
        let store = m.store
        let active = Dictionary(uniqueKeysWithValues: m.sparseLayers.map { ($0.layer.weightIndex, $0.layer.pattern.activeIndices) })
        func tensor(_ t: Int) -> [Double] {
            let o = store.offsets[t]
            guard let indices = active[t] else { return Array(v[o..<(o + store.specs[t].count)]) }
            var dense = [Double](repeating: 0, count: store.specs[t].denseCount)
            for (k, index) in indices.enumerated() { dense[index] = v[o + k] }
            return dense
        }
        /// A convolution (stride 1) followed by ReLU, on a (c, h, w) map.
        func convReLU(_ input: [Double], c: Int, h: Int, w: Int, weights: [Double], bias: [Double], k: Int, pad: Int) -> [Double] {
            let oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1
            var out = [Double](repeating: 0, count: bias.count * oh * ow)
            for j in bias.indices { for y in 0..<oh { for xx in 0..<ow {
                var sum = bias[j]
                for ci in 0..<c { for ky in 0..<k { for kx in 0..<k {
                    let iy = y + ky - pad, ix = xx + kx - pad
                    guard iy >= 0 && iy < h && ix >= 0 && ix < w else { continue }
                    sum += weights[((j * c + ci) * k + ky) * k + kx] * input[(ci * h + iy) * w + ix]
                } } }
                out[(j * oh + y) * ow + xx] = max(sum, 0)
            } } }
            return out
        }
        let (w1, b1, w2, b2, w3, b3) = (tensor(0), tensor(1), tensor(2), tensor(3), tensor(4), tensor(5))
        var total = 0.0
        for n in 0..<x.cols {
            let input = (0..<72).map { Double(x[$0, n]) }
            let a1 = convReLU(input, c: 2, h: 6, w: 6, weights: w1, bias: b1, k: 3, pad: 1) // 3 x 6 x 6
            var pooled = [Double](repeating: 0, count: 27) // 3 x 3 x 3
            for c in 0..<3 { for y in 0..<3 { for xx in 0..<3 {
                let corner = (c * 6 + 2 * y) * 6 + 2 * xx
                pooled[(c * 3 + y) * 3 + xx] = max(max(a1[corner], a1[corner + 1]), max(a1[corner + 6], a1[corner + 7]))
            } } }
            let a2 = convReLU(pooled, c: 3, h: 3, w: 3, weights: w2, bias: b2, k: 2, pad: 0) // 4 x 2 x 2
            var z = b3
            for r in 0..<3 { for f in 0..<16 { z[r] += w3[r * 16 + f] * a2[f] } }
            let top = z.max()!
            var sumExp = 0.0
            for r in 0..<3 { sumExp += exp(z[r] - top) }
            total += top + log(sumExp) - z[Int(labels[n])]
        }
        return total / Double(x.cols)
    }

    @Test func maxPoolRoutesGradientsToTheMaximum() {
        let pool = MaxPool2D(channels: 1, inputHeight: 2, inputWidth: 4, size: 2)
        let x = Matrix(rows: 8, cols: 1)
        x.data.update(from: [1, 5, 2, 0, 3, 4, 9, 1], count: 8)
        #expect(pool.forward(x).values == [5, 9])
        let dy = Matrix(rows: 2, cols: 1)
        dy.data.update(from: [10, 20], count: 2)
        let noParameters = TestGradients(ParameterStore(specs: []))
        defer { withExtendedLifetime(noParameters) {} } // its buffers are used through raw pointers
        #expect(pool.backward(dy, into: noParameters.buffers, needInputGradient: true)!.values == [0, 10, 0, 0, 0, 0, 20, 0])
    }
}
