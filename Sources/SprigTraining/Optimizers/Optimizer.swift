import SprigLayers
import SprigDistributed

/// An update rule over a `ParameterStore`'s flat buffers. Its state lives in the store's
/// state buffers (so mask changes move it with the weights) plus `steps`, the number of
/// updates applied (Adam's bias correction needs it; checkpoints keep it).
public protocol Optimizer: AnyObject {
    /// Applies one update with learning rate `lr` from `gradients` (laid out like the store).
    func step(lr: Float, gradients: UnsafePointer<Float>)
    /// Updates applied so far.
    var steps: Int { get set }
    /// Bytes of optimizer state.
    var stateBytes: Int { get }
}
