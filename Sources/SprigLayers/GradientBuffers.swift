/// Where one backward pass writes the gradients of a model's parameters: a buffer laid out
/// like the store's values (tensor after tensor, one gradient per value), and, on steps that
/// ask for them, a buffer laid out like the store's dense tensors (`ParameterStore.denseOffsets`)
/// for the dense gradients `dL/dW` of the sparse tensors at every position, or a recorder of
/// their factors (`GrowthFactors`).
///
/// Ownership: the caller (the training step's gradient tree, or a test) owns both buffers
/// and hands them to `Sequential.backward`; layers only write into them, overwriting.
public struct GradientBuffers {
    public var gradients: UnsafeMutablePointer<Float>
    public var denseGradients: UnsafeMutablePointer<Float>?
    /// Where sparse layers leave the factors of their dense gradients, on steps that grow
    /// from factors instead of dense buffers.
    public var factors: GrowthFactors?

    public init(gradients: UnsafeMutablePointer<Float>, denseGradients: UnsafeMutablePointer<Float>? = nil,
                factors: GrowthFactors? = nil) {
        self.gradients = gradients
        self.denseGradients = denseGradients
        self.factors = factors
    }
}
