import Foundation
import Testing
@testable import SprigLayers
@testable import SprigTraining

@Suite struct OptimizerTests {
    @Test func sgdNesterovStepMatchesTheFormula() {
        let store = ParameterStore(specs: [ParameterSpec(name: "w", shape: [2], decays: true),
                                           ParameterSpec(name: "b", shape: [1], decays: false)])
        store.values.update(from: [1, -2, 3], count: 3)
        let grad = TestGradients(store)
        defer { withExtendedLifetime(grad) {} } // its buffers are used through raw pointers
        grad.gradients.update(from: [0.5, 0.25, 1], count: 3)
        let sgd = SGD(store: store, settings: SGD.Settings(momentum: 0.9, nesterov: true, weightDecay: 0.1))
        sgd.step(lr: 0.1, gradients: grad.gradients)
        // g = grad + 0.1 w (weights only); v = g; w -= lr (g + 0.9 v) = w - 0.19 g
        let g: [Float] = [0.5 + 0.1, 0.25 - 0.2, 1]
        let expected = zip([1, -2, 3] as [Float], g).map { $0 - 0.19 * $1 }
        for i in 0..<3 { #expect(abs(store.values[i] - expected[i]) < 1e-6) }
        sgd.step(lr: 0.1, gradients: grad.gradients)
        // second step: g' = grad + 0.1 w'; v' = 0.9 g + g'; w'' = w' - 0.1 (g' + 0.9 v')
        let g2 = [0.5 + 0.1 * expected[0], 0.25 + 0.1 * expected[1], 1]
        for i in 0..<3 {
            let v2 = 0.9 * g[i] + g2[i]
            #expect(abs(store.values[i] - (expected[i] - 0.1 * (g2[i] + 0.9 * v2))) < 1e-5)
        }
    }

    /// Two Adam steps by hand (PyTorch's formulation, L2 weight decay on weights only).
    @Test func adamStepsMatchTheFormula() {
        let store = ParameterStore(specs: [ParameterSpec(name: "w", shape: [1], decays: true),
                                           ParameterSpec(name: "b", shape: [1], decays: false)])
        store.values.update(from: [1, -1], count: 2)
        let adam = Adam(store: store, settings: Adam.Settings(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1))
        var w = [1.0, -1.0], m = [0.0, 0.0], v = [0.0, 0.0]
        let grad = TestGradients(store)
        defer { withExtendedLifetime(grad) {} } // its buffers are used through raw pointers
        for t in 1...2 {
            let grads = [0.5, 0.25 * Double(t)]
            grad.gradients.update(from: grads.map(Float.init), count: 2)
            adam.step(lr: 0.01, gradients: grad.gradients)
            for i in 0..<2 {
                let g = grads[i] + (i == 0 ? 0.1 * w[i] : 0)
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                let mh = m[i] / (1 - pow(0.9, Double(t))), vh = v[i] / (1 - pow(0.999, Double(t)))
                w[i] -= 0.01 * mh / (vh.squareRoot() + 1e-8)
                #expect(abs(Double(store.values[i]) - w[i]) < 1e-6, "step \(t), parameter \(i)")
            }
        }
        #expect(adam.steps == 2)
    }

    /// `decayBiases` adds the L2 term to the tensors that do not decay by their spec (the
    /// bias here), as torch.optim does for every parameter it is given; without it the bias
    /// moves by its gradient alone.
    @Test(arguments: [false, true]) func decayBiasesReachesTheBias(adam: Bool) {
        for decayBiases in [false, true] {
            let store = ParameterStore(specs: [ParameterSpec(name: "w", shape: [1], decays: true),
                                               ParameterSpec(name: "b", shape: [1], decays: false)])
            store.values.update(from: [2, 2], count: 2)
            let grad = TestGradients(store)
            defer { withExtendedLifetime(grad) {} } // its buffers are used through raw pointers
            grad.gradients.update(from: [0.5, 0.5], count: 2)
            let optimizer: Optimizer = adam
                ? Adam(store: store, settings: Adam.Settings(weightDecay: 0.5, decayBiases: decayBiases))
                : SGD(store: store, settings: SGD.Settings(momentum: 0, nesterov: false, weightDecay: 0.5, decayBiases: decayBiases))
            optimizer.step(lr: 0.1, gradients: grad.gradients)
            // SGD: w -= 0.1 (0.5 + 0.5 * 2) = 1.85. Adam's first step moves by lr sign(g) whatever
            // |g|, so a second step, whose moments differ with and without the decay, tells them apart.
            optimizer.step(lr: 0.1, gradients: grad.gradients)
            let (w, b) = (store.values[0], store.values[1])
            if decayBiases {
                #expect(w == b, "adam \(adam): the bias decays like the weight")
            } else {
                #expect(w != b, "adam \(adam): the bias does not decay")
                let undecayed: Float = adam ? 2 - 0.2 : 2 - 2 * 0.1 * 0.5
                #expect(abs(b - undecayed) < 1e-5, "adam \(adam): the bias moves by its gradient alone")
            }
        }
    }

    @Test func plainMomentum() {
        let store = ParameterStore(specs: [ParameterSpec(name: "w", shape: [1], decays: false)])
        store.values[0] = 1
        let grad = TestGradients(store)
        defer { withExtendedLifetime(grad) {} } // its buffers are used through raw pointers
        grad.gradients[0] = 2
        let sgd = SGD(store: store, settings: SGD.Settings(momentum: 0.5, nesterov: false, weightDecay: 0))
        sgd.step(lr: 0.1, gradients: grad.gradients)
        sgd.step(lr: 0.1, gradients: grad.gradients)
        // v1 = 2, w1 = 0.8; v2 = 0.5 * 2 + 2 = 3, w2 = 0.5
        #expect(abs(store.values[0] - 0.5) < 1e-6)
    }
}
