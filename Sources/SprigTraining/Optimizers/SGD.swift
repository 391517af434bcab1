import SprigLayers
import SprigSparsity
import SprigDistributed

/// Stochastic gradient descent with (optionally Nesterov) momentum and L2 weight decay, in
/// PyTorch's formulation (torch.optim.SGD):
///
///     g = grad + weightDecay * w      (on tensors whose spec decays: weights; with
///                                      decayBiases, every tensor, as torch.optim.SGD
///                                      decays every parameter it is given)
///     v = momentum * v + g
///     w = w - lr * (nesterov ? g + momentum * v : v)
///
/// One loop over the store's flat buffers; momentum buffers share the store's layout.
public final class SGD: Optimizer {
    public struct Settings: Equatable {
        public var momentum: Double
        public var nesterov: Bool
        public var weightDecay: Double
        /// Weight decay on biases and batch-norm scales and shifts too, not on weights only.
        public var decayBiases: Bool

        public init(momentum: Double = 0.9, nesterov: Bool = true, weightDecay: Double = 0, decayBiases: Bool = false) {
            self.momentum = momentum
            self.nesterov = nesterov
            self.weightDecay = weightDecay
            self.decayBiases = decayBiases
        }
    }

    public let settings: Settings
    private let store: ParameterStore
    private let velocityState: Int
    public var steps = 0

    public init(store: ParameterStore, settings: Settings) {
        self.store = store
        self.settings = settings
        velocityState = store.addState()
    }

    /// The momentum buffer `v`, laid out like the store (a copy).
    public var velocity: [Float] { store.stateArray(velocityState) }

    /// Bytes of optimizer state.
    public var stateBytes: Int { store.count * MemoryLayout<Float>.stride }

    /// Applies one update with learning rate `lr` from `gradients` (laid out like the store).
    public func step(lr: Float, gradients: UnsafePointer<Float>) {
        steps += 1
        let mu = Float(settings.momentum)
        store.optimizerStep { values, states in
        let velocity = states[velocityState]
        for (index, spec) in store.specs.enumerated() {
            let offset = store.offsets[index]
            let w = values + offset, g = gradients + offset, v = velocity + offset
            let wd: Float = spec.decays || settings.decayBiases ? Float(settings.weightDecay) : 0
            if settings.nesterov {
                for i in 0..<spec.count {
                    let gi = g[i] + wd * w[i]
                    let vi = mu * v[i] + gi
                    v[i] = vi
                    w[i] -= lr * (gi + mu * vi)
                }
            } else {
                for i in 0..<spec.count {
                    let vi = mu * v[i] + g[i] + wd * w[i]
                    v[i] = vi
                    w[i] -= lr * vi
                }
            }
        }
        }
    }
}
