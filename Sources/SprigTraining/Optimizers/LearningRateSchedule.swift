import SprigData
import SprigSparsity
import Foundation

/// The learning rate as a function of the step: a shape, after an optional linear warmup.
public struct LearningRateSchedule: Equatable {
    public enum Shape: Equatable {
        /// The base rate throughout.
        case constant
        /// `lr = base * gamma^(number of milestones <= epoch)`; milestones are epochs
        /// (RigL's MNIST setup divides by 3 at epochs 75 and 95).
        case step(milestones: [Int], gamma: Double)
        /// `lr = min + (base - min) / 2 * (1 + cos(pi * t / T))` over the `T` steps after
        /// warmup (Loshchilov & Hutter, SGDR, ICLR 2017, without restarts).
        case cosine(minimum: Double)
    }

    public var shape: Shape
    /// Epochs of linear warmup from `base / warmupSteps` to `base`.
    public var warmupEpochs: Double

    public init(shape: Shape, warmupEpochs: Double = 0) {
        self.shape = shape
        self.warmupEpochs = warmupEpochs
    }

    /// The rate of (0-based) `step` out of `totalSteps`, epochs of `stepsPerEpoch` steps.
    public func rate(base: Double, step: Int, stepsPerEpoch: Int, totalSteps: Int) -> Double {
        let warmupSteps = Int((warmupEpochs * Double(stepsPerEpoch)).rounded())
        if step < warmupSteps {
            return base * Double(step + 1) / Double(warmupSteps)
        }
        switch shape {
        case .constant:
            return base
        case .step(let milestones, let gamma):
            let epoch = step / max(stepsPerEpoch, 1)
            return base * pow(gamma, Double(milestones.filter { $0 <= epoch }.count))
        case .cosine(let minimum):
            let span = max(totalSteps - warmupSteps, 1)
            let t = Double(step - warmupSteps) / Double(span)
            return minimum + (base - minimum) * 0.5 * (1 + cos(Double.pi * min(t, 1)))
        }
    }
}
