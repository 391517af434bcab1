import SprigTensor

/// The ways Sprig trains a sparse network (each method's policy type cites its paper).
public enum SparseTrainingMethod: String, CaseIterable, Sendable {
    /// Every layer dense.
    case dense
    /// A random mask at initialisation that never changes.
    case `static`
    /// RigL (Evci et al., ICML 2020): drop the smallest |w|, grow the largest |dense gradient|.
    case rigl
    /// SET (Mocanu et al., Nature Communications 2018): drop the smallest |w|, grow at random.
    case set
    /// SNFS (Dettmers & Zettlemoyer 2019): drop the smallest |w|, grow the largest
    /// |momentum of the dense gradient|.
    case snfs
    /// SNIP (Lee et al., ICLR 2019): at initialisation keep the largest |g w| on one batch,
    /// then train with that fixed mask.
    case snip
    /// Gradual magnitude pruning (Zhu & Gupta 2017): dense to sparse during training.
    case gmp
    /// NNrelief (Dekhovich et al. 2024): every layer starts dense and is pruned by
    /// `sprig prune` between training rounds.
    case nnrelief

    /// True for the methods whose layers start dense and shrink.
    public var startsDense: Bool { self == .gmp || self == .nnrelief }

    /// True for the methods that change masks during training.
    public var isDynamic: Bool { self == .rigl || self == .set || self == .snfs }

    /// True for the methods that grow from dense gradients (RigL on update steps, SNFS on
    /// every step), whose path `dense_gradient_reduction` chooses.
    public var usesDenseGradients: Bool { self == .rigl || self == .snfs }
}
