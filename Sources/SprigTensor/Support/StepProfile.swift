/// Where a training step's time goes, for `sprig bench`: seconds spent in each part, summed
/// while `enabled` (off in training, where each mark costs one branch).
///
///     let started = StepProfile.start()
///     defer { StepProfile.stop(.batchNorm, since: started) }
public enum StepProfile {
    public enum Part: Int, CaseIterable, Sendable {
        /// A convolution's forward pass (im2col or its panels included).
        case convolutionForward
        /// A convolution's input gradient (col2im included).
        case convolutionInputGradient
        /// A convolution's weight gradient (dense gradients on mask-update steps included).
        case convolutionWeightGradient
        /// A convolution whose product gives both gradients in one call (a masked dense
        /// product on the patch matrix), not split.
        case convolutionBackward
        case batchNorm
        /// ReLU, pooling, dropout and the residual additions.
        case elementwise
        /// Drop and grow: the policy's observation, proposals, decision and the masks' application.
        case maskUpdate

        public var name: String {
            switch self {
            case .convolutionForward: return "conv_forward"
            case .convolutionInputGradient: return "conv_input_grad"
            case .convolutionWeightGradient: return "conv_weight_grad"
            case .convolutionBackward: return "conv_backward_unsplit"
            case .batchNorm: return "batch_norm"
            case .elementwise: return "elementwise"
            case .maskUpdate: return "mask_update"
            }
        }
    }

    nonisolated(unsafe) public static var enabled = false
    nonisolated(unsafe) public private(set) static var seconds = [Double](repeating: 0, count: Part.allCases.count)

    /// The time now when profiling, else 0 (no clock read).
    @inline(__always)
    public static func start() -> Double { enabled ? monotonicSeconds() : 0 }

    /// Adds the time since `started` to `part`.
    @inline(__always)
    public static func stop(_ part: Part, since started: Double) {
        if enabled { seconds[part.rawValue] += monotonicSeconds() - started }
    }
}
