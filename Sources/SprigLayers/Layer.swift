import SprigTensor

/// One stage of a feed-forward network on feature-major activations (features x batch).
///
/// A layer declares its parameter tensors; the model places them in a `ParameterStore`
/// and binds the layer to its slots. `forward` may return a buffer the layer owns (valid
/// until its next call) or transform its input in place; `backward` takes the gradient of
/// the loss with respect to the output, writes the gradients of the layer's parameters
/// into the caller's `GradientBuffers` at its slots' offsets (overwriting), and returns the gradient with respect to the input when
/// asked (the first layer is not asked, which saves its largest product).
public protocol Layer: AnyObject {
    var inputFeatures: Int { get }
    var outputFeatures: Int { get }
    /// The parameter tensors, in the order `bind` receives their slots.
    var parameterSpecs: [ParameterSpec] { get }
    /// Gives the layer the memory of its parameters (one slot per spec).
    func bind(_ slots: [ParameterSlot])
    /// Fills the parameters with their initial values, drawn from streams keyed by
    /// (seed, purpose, layer).
    func initialize(_ initializer: WeightInitializer, seed: UInt64, layerIndex: Int)
    func forward(_ x: Matrix) -> Matrix
    func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix?
    /// True when the layer can run the columns of several micro-batches of `size` examples
    /// at once with each column's bits as when its micro-batch runs alone, and its
    /// `backward(_:microbatches:into:needInputGradient:)` adds their parameter gradients.
    func batchesMicrobatches(ofSize size: Int) -> Bool
    /// The backward pass over `microbatches` equal micro-batches side by side in the columns
    /// of `dy` (micro-batch s in columns `s m ..< (s+1) m`), after a forward pass over the
    /// same columns: the parameter gradients it writes are the micro-batches' gradients
    /// added in the pairwise tree (`PairwiseTree`), bitwise what `GradientTree` makes of one
    /// backward pass per micro-batch. Only where `batchesMicrobatches(ofSize:)` holds, and
    /// not on steps that ask for dense gradients or growth factors.
    func backward(_ dy: Matrix, microbatches: Int, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix?
    /// Multiply-adds x 2 of one example's forward pass.
    var forwardFLOPsPerExample: Int { get }
    /// The layers this one is made of, in the order they run (a residual block's), or none.
    var sublayers: [Layer] { get }
    /// `forward(_:)`, calling `observe(layer, input, output)` after each layer without
    /// sublayers (this one, or each of its sublayers in turn).
    func forward(_ x: Matrix, observe: (Layer, Matrix, Matrix) -> Void) -> Matrix
}

extension Layer {
    public var parameterSpecs: [ParameterSpec] { [] }
    public func bind(_ slots: [ParameterSlot]) {}
    public func initialize(_ initializer: WeightInitializer, seed: UInt64, layerIndex: Int) {}
    public var forwardFLOPsPerExample: Int { 0 }
    public var sublayers: [Layer] { [] }
    public func forward(_ x: Matrix, observe: (Layer, Matrix, Matrix) -> Void) -> Matrix {
        let y = forward(x)
        observe(self, x, y)
        return y
    }
    public func batchesMicrobatches(ofSize size: Int) -> Bool { false }
    public func backward(_ dy: Matrix, microbatches: Int, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        precondition(microbatches == 1 || parameterSpecs.isEmpty, "\(type(of: self)) does not add micro-batches' gradients")
        return backward(dy, into: gradients, needInputGradient: needInputGradient)
    }
}
