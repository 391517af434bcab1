import Foundation
import Testing
@testable import Sprig

@Suite struct ConvTests {
    private func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
        var random = StatelessRandom(seed: seed, purpose: .shuffle)
        let m = Matrix(rows: rows, cols: cols)
        for i in 0..<m.count { m.data[i] = random.nextNormal() }
        return m
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
        let x = randomMatrix(72, 4, seed: 2)
        let labels: [Int32] = [0, 2, 1, 2]
        let loss = SoftmaxCrossEntropy()
        func build(_ sparsities: [Double]?, denseMath: Double) -> Sequential {
            let m = Sequential(layers: arch.makeLayers(sparsities: sparsities, seed: 5, denseMathDensity: denseMath))
            m.initialize(.heNormal, seed: 5)
            return m
        }
        func gradients(_ m: Sequential) -> [Float] {
            let (_, dz) = loss(m.forward(x), labels: labels, gradientScale: 0.25)
            m.backward(dz!)
            return Array(UnsafeBufferPointer(start: m.store.gradients, count: m.store.count))
        }
        for sparsities in [nil, [0.5, 0.5, 0.3]] as [[Double]?] {
            let m = build(sparsities, denseMath: 1.1)
            let g = gradients(m)
            if sparsities != nil {
                let denseMath = build(sparsities, denseMath: 0)
                let gd = gradients(denseMath)
                let diff = zip(g, gd).map { abs($0 - $1) }.max()!
                #expect(diff < 1e-5 * max(1, g.map { abs($0) }.max()!), "sparse and dense-math paths differ by \(diff)")
                #expect(m.forward(x).values.enumerated().allSatisfy { abs($1 - denseMath.forward(x).values[$0]) < 1e-5 })
            }
            // A parameter passes when the central difference agrees at h = 1e-3 (a step
            // that may straddle a ReLU kink or a max-pool near-tie) or at h = 1e-4 (where
            // float rounding is larger): a wrong derivative fails both.
            func numeric(_ i: Int, _ h: Float) -> Double {
                let w = m.store.values, saved = w[i]
                w[i] = saved + h
                let plus = loss(m.forward(x), labels: labels, gradientScale: nil).0.lossSum / 4
                w[i] = saved - h
                let minus = loss(m.forward(x), labels: labels, gradientScale: nil).0.lossSum / 4
                w[i] = saved
                return (plus - minus) / Double(2 * h)
            }
            func agrees(_ n: Double, _ a: Float) -> Bool {
                abs(n - Double(a)) <= max(2e-2 * (abs(n) + abs(Double(a))), 1e-3)
            }
            let failing = (0..<m.store.count).filter { !agrees(numeric($0, 1e-3), g[$0]) && !agrees(numeric($0, 1e-4), g[$0]) }
            #expect(failing.isEmpty, "parameters \(failing) fail the finite-difference check (sparse: \(sparsities != nil))")
        }
    }

    @Test func maxPoolRoutesGradientsToTheMaximum() {
        let pool = MaxPool2D(channels: 1, inputHeight: 2, inputWidth: 4, size: 2)
        let x = Matrix(rows: 8, cols: 1)
        x.data.update(from: [1, 5, 2, 0, 3, 4, 9, 1], count: 8)
        #expect(pool.forward(x).values == [5, 9])
        let dy = Matrix(rows: 2, cols: 1)
        dy.data.update(from: [10, 20], count: 2)
        #expect(pool.backward(dy, needInputGradient: true)!.values == [0, 10, 0, 0, 0, 0, 20, 0])
    }
}
