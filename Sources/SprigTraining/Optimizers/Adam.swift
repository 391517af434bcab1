import Foundation
import SprigLayers

/// Adam (Kingma & Ba, ICLR 2015) in PyTorch's formulation (torch.optim.Adam), with L2
/// weight decay added to the gradient:
///
///     g = grad + weightDecay * w         (tensors whose spec decays: weights; with
///                                         decayBiases, every tensor, as torch.optim.Adam
///                                         decays every parameter it is given)
///     m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2
///     w = w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
///
/// A moment below the smallest normal float (1.2e-38) is stored as 0. The moments of
/// weights whose gradient stays 0 (behind a dead ReLU) decay geometrically into subnormal
/// numbers, on which x86 arithmetic is many times slower: LeNet-5-caffe's second epoch ran
/// at 55% of its first's speed before. A flushed m moved its weight by less than
/// lr 1.2e-38 / ((1 - beta1^t) eps) (1.2e-32 at lr 1e-3, eps 1e-8, t = 1); a flushed v
/// changed the denominator by less than sqrt(1.2e-38 / (1 - beta2^t)) (at most 3.5e-18,
/// against eps 1e-8).
public final class Adam: Optimizer {
    public struct Settings: Equatable {
        public var beta1: Double
        public var beta2: Double
        public var epsilon: Double
        public var weightDecay: Double
        /// Weight decay on biases and batch-norm scales and shifts too, not on weights only.
        public var decayBiases: Bool

        public init(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0,
                    decayBiases: Bool = false) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
            self.decayBiases = decayBiases
        }
    }

    public let settings: Settings
    private let store: ParameterStore
    private let firstMoment: Int, secondMoment: Int
    public var steps = 0

    public init(store: ParameterStore, settings: Settings) {
        self.store = store
        self.settings = settings
        firstMoment = store.addState()
        secondMoment = store.addState()
    }

    public var stateBytes: Int { 2 * store.count * MemoryLayout<Float>.stride }

    public func step(lr: Float, gradients: UnsafePointer<Float>) {
        steps += 1
        let b1 = Float(settings.beta1), b2 = Float(settings.beta2), eps = Float(settings.epsilon)
        let c1 = 1 / (1 - Float(pow(settings.beta1, Double(steps))))
        let c2 = 1 / (1 - Float(pow(settings.beta2, Double(steps))))
        store.optimizerStep { values, states in
        let m = states[firstMoment], v = states[secondMoment]
        for (index, spec) in store.specs.enumerated() {
            let o = store.offsets[index]
            let w = values + o, g = gradients + o, mm = m + o, vv = v + o
            let wd: Float = spec.decays || settings.decayBiases ? Float(settings.weightDecay) : 0
            for i in 0..<spec.count {
                let gi = g[i] + wd * w[i]
                var mi = b1 * mm[i] + (1 - b1) * gi
                var vi = b2 * vv[i] + (1 - b2) * gi * gi
                if abs(mi) < Float.leastNormalMagnitude { mi = 0 }
                if vi < Float.leastNormalMagnitude { vi = 0 }
                mm[i] = mi
                vv[i] = vi
                w[i] -= lr * (mi * c1) / ((vi * c2).squareRoot() + eps)
            }
        }
        }
    }
}
