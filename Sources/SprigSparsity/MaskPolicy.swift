import SprigLayers

/// How a sparse training method changes masks: one protocol for every method (RigL, SET
/// and SNFS drop and grow; Static never changes; SNIP decides once at initialisation;
/// gradual magnitude pruning only drops; NNrelief prunes between retraining rounds).
///
/// The training step asks the policy, at step t: whether the backward pass must produce
/// the dense gradients of the sparse layers (`needsDenseGradients`), whether t updates
/// masks (`updatesMasks`) and whether that update takes the place of the optimizer step
/// (`replacesOptimizerStep`). On an update step rank 0 alone calls `decide`, and every
/// rank applies the diffs it returns (SprigDistributed's `MaskSynchronizer`). A policy
/// must decide from the context and its own state only, the same on any rank.
///
/// A method's file gives its policy (`MethodDefinition.makePolicy`): a `DropAndGrow`
/// subclass that gives its grow rule, or a type conforming to this protocol.
public protocol MaskPolicy: AnyObject {
    /// True when step t's backward pass must also produce the dense gradients of the
    /// sparse layers (RigL on update steps, SNFS on every step).
    func needsDenseGradients(atStep t: Int) -> Bool
    /// True when step t changes masks.
    func updatesMasks(atStep t: Int) -> Bool
    /// True when a mask update takes the place of that step's optimizer update (RigL);
    /// otherwise the optimizer steps first and the masks change after (SET, SNFS, pruning).
    var replacesOptimizerStep: Bool { get }
    /// True for one-shot methods that decide once, before the first step, from the dense
    /// network at initialisation (SNIP).
    var decidesAtInitialisation: Bool { get }
    /// True for policies that draw the initial masks themselves, on a fresh start before the
    /// first step (an initial sparsity or a mask structure of the method's own).
    var drawsInitialMasks: Bool { get }
    /// Those masks, as diffs from the model's initial ones. Called on every rank (a policy
    /// may note the initial weights); rank 0's diffs are applied on all.
    func initialMasks(_ layers: [SparseLinear]) -> [MaskDiff]
    /// True when the weights are initialised again for the initial masks (false: the
    /// policy's `settle` gives them their values).
    var reinitialisesWeights: Bool { get }
    /// After every applied mask change (the initial masks, each update), on every rank: the
    /// policy's one chance to set the values of the active weights (a forward set within the mask).
    func settle(_ layers: [SparseLinear])
    /// Before the optimizer step, on every rank: changes the step's summed gradients of the
    /// active weights, `context.gradient(l)` (a penalty of the method's own).
    func adjustGradients(_ context: MaskContext)
    /// After the optimizer step, on every rank (a policy may move the update of the weights
    /// outside its forward set into its dense copy).
    func afterOptimizerStep(_ context: MaskContext)
    /// The share of sparse layer l's forward FLOPs that the forward pass computes (a forward
    /// set over the mask, when the forward pass uses part of it; 1 for most methods).
    func forwardShare(_ l: Int) -> Double
    /// The sizes of the buffers of `state` a checkpoint must hold for these layers.
    func stateCounts(_ layers: [SparseLinear]) -> [Int]
    /// Sees each step's summed dense gradients, on the ranks that hold them (SNFS's moving
    /// average).
    func observe(_ context: MaskContext)
    /// On an update step, each sparse layer's drop, computed once (on every rank, from the
    /// weights alone) and passed to `proposeGrowth` and `decide` as `context.drops`; nil for
    /// policies that drop nothing before they grow.
    func drops(_ context: MaskContext) -> [LayerDrop]?
    /// On an update step, every rank's growth proposals, one list per sparse layer, that
    /// rank 0 receives as `context.candidates` before it decides (RigL, whose grow score is
    /// computed in shares across ranks); nil for policies that decide alone.
    func proposeGrowth(_ context: MaskContext) -> [[GrowthCandidate]]?
    /// The decision (rank 0 only): one diff per sparse layer, in `context.layers` order.
    func decide(_ context: MaskContext) -> [MaskDiff]
    /// State a checkpoint carries (SNFS's moving averages; empty for the others).
    var state: [[Float]] { get set }
}

extension MaskPolicy {
    public func needsDenseGradients(atStep t: Int) -> Bool { false }
    public var replacesOptimizerStep: Bool { false }
    public var decidesAtInitialisation: Bool { false }
    public var drawsInitialMasks: Bool { false }
    public func initialMasks(_ layers: [SparseLinear]) -> [MaskDiff] { [] }
    public var reinitialisesWeights: Bool { true }
    public func settle(_ layers: [SparseLinear]) {}
    public func adjustGradients(_ context: MaskContext) {}
    public func afterOptimizerStep(_ context: MaskContext) {}
    public func forwardShare(_ l: Int) -> Double { 1 }
    public func stateCounts(_ layers: [SparseLinear]) -> [Int] { [] }
    public func observe(_ context: MaskContext) {}
    public func drops(_ context: MaskContext) -> [LayerDrop]? { nil }
    public func proposeGrowth(_ context: MaskContext) -> [[GrowthCandidate]]? { nil }
    public var state: [[Float]] {
        get { [] }
        set {}
    }
}

/// What a mask policy decides from: the model's sparse layers, the step, and the step's
/// grow scores when it computed them: summed dense gradients, or the factors they are
/// computed from tile by tile. A layer's index here (its sparse layer index) is the
/// `sparseLayer` of its `MaskDiff`.
public struct MaskContext {
    public let layers: [SparseLinear]
    public let store: ParameterStore
    public let step: Int
    /// The step's summed gradients of every active parameter, laid out by `store.offsets`
    /// (nil outside a training step).
    public let gradients: UnsafeMutablePointer<Float>?
    /// The step's dense gradients of the sparse tensors, laid out by `store.denseOffsets`,
    /// summed over the global batch (nil when the step did not compute them, or on a rank
    /// that does not hold them).
    public let denseGradients: UnsafeMutablePointer<Float>?
    /// The factors of the dense gradients of the whole global batch (every micro-batch of
    /// every rank), on steps that grow from factors.
    public let factors: GrowthFactors?
    /// This rank and the number of ranks: which tiles of the factors' dense gradients this
    /// rank examines.
    public let rank: Int
    public let ranks: Int
    /// Bytes a layer's dense-gradient tiles may take (`TiledDenseGradient`).
    public let tileBudgetBytes: Int
    /// Every rank's growth proposals, per sparse layer (on rank 0, when deciding).
    public var candidates: [[GrowthCandidate]]?
    /// The update's drops (`MaskPolicy.drops`), once computed.
    public var drops: [LayerDrop]?

    public init(layers: [SparseLinear], store: ParameterStore, step: Int, gradients: UnsafeMutablePointer<Float>? = nil,
                denseGradients: UnsafeMutablePointer<Float>? = nil,
                factors: GrowthFactors? = nil, rank: Int = 0, ranks: Int = 1, tileBudgetBytes: Int = 64 << 20,
                candidates: [[GrowthCandidate]]? = nil) {
        self.layers = layers
        self.store = store
        self.step = step
        self.gradients = gradients
        self.denseGradients = denseGradients
        self.factors = factors
        self.rank = rank
        self.ranks = ranks
        self.tileBudgetBytes = tileBudgetBytes
        self.candidates = candidates
    }

    /// The summed gradients of sparse layer l's active weights (CSR order), in a step.
    public func gradient(_ l: Int) -> UnsafeMutablePointer<Float>? {
        gradients.map { $0 + store.offsets[layers[l].weightIndex] }
    }

    /// The dense gradient `dL/dW` (out x in, row-major) of sparse layer l, summed over the
    /// global batch, on a step that computed it; nil otherwise.
    public func denseGradient(_ l: Int) -> UnsafeMutablePointer<Float>? {
        denseGradients.map { $0 + store.denseOffsets[layers[l].weightIndex] }
    }
}
