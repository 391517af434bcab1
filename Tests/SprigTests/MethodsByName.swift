@testable import SprigSparsity

/// The methods by name, for tests (Sources name each method in its own file only).
extension SparseTrainingMethod {
    static let rigl = SparseTrainingMethod(RigL.self)
    static let set = SparseTrainingMethod(SET.self)
    static let snfs = SparseTrainingMethod(SNFS.self)
    static let `static` = SparseTrainingMethod(StaticMask.self)
    static let snip = SparseTrainingMethod(SNIP.self)
    static let gmp = SparseTrainingMethod(GradualMagnitudePruning.self)
    static let nnrelief = SparseTrainingMethod(NNrelief.self)
}
