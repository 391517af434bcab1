import Foundation
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

/// A tiny model, its loss, and the finite-difference gradient of the mean loss.
private struct GradientCheck {
    let model: Sequential
    let x: Matrix
    let labels: [Int32]
    let loss = SoftmaxCrossEntropy()

    init(sizes: [Int], batch: Int, seed: UInt64) {
        model = Sequential(layers: ModelArchitecture.mlp(sizes: sizes).makeLayers())
        model.initialize(.heNormal, seed: seed)
        var random = StatelessRandom(seed: seed, purpose: .shuffle)
        for i in 0..<model.store.count { model.store.values[i] += 0.1 * random.nextNormal() } // non-zero biases
        x = Matrix(rows: sizes[0], cols: batch)
        for i in 0..<x.count { x.data[i] = random.nextNormal() }
        labels = (0..<batch).map { _ in Int32(random.nextInt(below: sizes.last!)) }
    }

    func meanLoss() -> Double {
        let input = Matrix(rows: x.rows, cols: x.cols)
        input.data.update(from: x.data, count: x.count)
        return loss(model.forward(input), labels: labels, gradientScale: nil).0.lossSum / Double(x.cols)
    }

    func analyticGradients() -> [Float] {
        let (_, dz) = loss(model.forward(x), labels: labels, gradientScale: 1 / Float(x.cols))
        return model.backwardGradients(dz!)
    }

    func numericGradient(_ i: Int, h: Float = 1e-2) -> Double {
        let w = model.store.values
        let saved = w[i]
        w[i] = saved + h
        let plus = meanLoss()
        w[i] = saved - h
        let minus = meanLoss()
        w[i] = saved
        return (plus - minus) / Double(2 * h)
    }
}

@Suite struct LayerTests {
    @Test func linearForwardMatchesTheFormula() {
        let layer = Linear(inputFeatures: 3, outputFeatures: 2)
        let model = Sequential(layers: [layer])
        let w: [Float] = [1, 2, 3, -1, 0, 2], b: [Float] = [0.5, -1]
        model.store.values.update(from: w + b, count: 8)
        let x = Matrix(rows: 3, cols: 2)
        x.data.update(from: [1, 0, 2, 1, -1, 3], count: 6) // columns (1,2,-1) and (0,1,3)
        let y = model.forward(x)
        // y = W x + b: column 0 = (1+4-3+0.5, -1+0-2-1), column 1 = (0+2+9+0.5, 0+0+6-1)
        #expect(y.values == [2.5, 11.5, -4, 5])
    }

    @Test func softmaxCrossEntropyValues() {
        let loss = SoftmaxCrossEntropy()
        let z = Matrix(rows: 2, cols: 1)
        z.data.update(from: [0, Float(log(3.0))], count: 2) // softmax = (1/4, 3/4)
        let (outcome, dz) = loss(z, labels: [1], gradientScale: 1)
        #expect(abs(outcome.lossSum - log(4.0 / 3.0)) < 1e-6)
        #expect(outcome.correct == 1)
        #expect(abs(dz!.values[0] - 0.25) < 1e-6 && abs(dz!.values[1] + 0.25) < 1e-6)
    }

    /// Backward passes agree with central differences of the mean loss, for every
    /// parameter of a small MLP (Linear and ReLU, three layers).
    @Test func gradientsMatchFiniteDifferences() {
        let check = GradientCheck(sizes: [5, 7, 6, 3], batch: 4, seed: 11)
        let analytic = check.analyticGradients()
        var worst = 0.0
        for i in 0..<check.model.store.count {
            let numeric = check.numericGradient(i)
            let error = abs(numeric - Double(analytic[i])) / max(1e-2, abs(numeric) + abs(Double(analytic[i])))
            worst = worstError([worst, error])
        }
        #expect(worst < 2e-2, "worst relative error \(worst)")
    }

    @Test func firstLayerComputesNoInputGradient() {
        let first = Linear(inputFeatures: 2, outputFeatures: 2)
        let model = Sequential(layers: [first])
        model.initialize(.glorotUniform, seed: 1)
        let x = Matrix(rows: 2, cols: 3)
        _ = model.forward(x)
        let gradients = TestGradients(model.store)
        defer { withExtendedLifetime(gradients) {} } // its buffers are used through raw pointers
        #expect(first.backward(Matrix(rows: 2, cols: 3), into: gradients.buffers, needInputGradient: false) == nil)
    }

    @Test func parametersAreNamedByKindAndRank() {
        let model = Sequential(layers: ModelArchitecture.mlp(sizes: [4, 3, 2]).makeLayers())
        #expect(model.store.specs.map(\.name) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        #expect(model.store.count == 4 * 3 + 3 + 3 * 2 + 2)
        #expect(model.store.specs.map(\.decays) == [true, false, true, false])
    }

    @Test func initializationIsAFunctionOfTheSeed() {
        func weights(_ seed: UInt64) -> [Float] {
            let m = Sequential(layers: ModelArchitecture.mlp(sizes: [20, 10, 2]).makeLayers())
            m.initialize(.glorotUniform, seed: seed)
            return m.store.valuesArray(0)
        }
        #expect(weights(1) == weights(1))
        #expect(weights(1) != weights(2))
        let bound = Float((6.0 / 30.0).squareRoot())
        #expect(weights(3).allSatisfy { abs($0) <= bound })
    }
}
