import Foundation

/// When masks change and how much: updates at steps t with `begin <= t <= end` and
/// `t % deltaT == 0` (t counted from 0; an update never happens at t = 0), dropping
/// `floor(f(t) * active)` weights per layer (RigL paper, section 3 and appendix; defaults
/// deltaT = 100, alpha = 0.3, end about 3/4 of training).
public struct DropFractionSchedule: Equatable {
    public enum Shape: String, CaseIterable, Sendable {
        /// `f(t) = alpha`.
        case constant
        /// `f(t) = alpha / 2 * (1 + cos(pi * t / end))` (the paper's choice).
        case cosine
        /// `f(t) = alpha * decay^((t - begin) / deltaT)`, halving every ten updates by
        /// default.
        case exponential
    }

    public var shape: Shape
    public var alpha: Double
    public var deltaT: Int
    public var begin: Int
    public var end: Int
    /// The factor per update of the exponential shape.
    public var decay: Double

    public init(shape: Shape = .cosine, alpha: Double = 0.3, deltaT: Int = 100, begin: Int = 0, end: Int,
                decay: Double = 0.933) {
        self.shape = shape
        self.alpha = alpha
        self.deltaT = deltaT
        self.begin = begin
        self.end = end
        self.decay = decay
    }

    /// True when step `t` updates masks.
    public func isUpdateStep(_ t: Int) -> Bool {
        t > 0 && t >= begin && t <= end && t % deltaT == 0
    }

    /// The fraction of active weights dropped at step `t`.
    public func fraction(at t: Int) -> Double {
        switch shape {
        case .constant: return alpha
        case .cosine: return alpha / 2 * (1 + cos(Double.pi * Double(t) / Double(max(end, 1))))
        case .exponential: return alpha * pow(decay, Double(t - begin) / Double(deltaT))
        }
    }

    /// Weights to drop (and grow) in a layer with `active` weights at step `t`.
    public func count(at t: Int, active: Int) -> Int {
        Int((fraction(at: t) * Double(active)).rounded(.down))
    }
}
