extension SparseTrainingMethod {
    /// Every method Sprig trains, in the order of the guide's table; a new method is one
    /// file and one entry here. The first is the dense run's.
    public static let all: [SparseTrainingMethod] = [
        SparseTrainingMethod(DenseTraining.self),
        SparseTrainingMethod(StaticMask.self),
        SparseTrainingMethod(RigL.self),
        SparseTrainingMethod(SET.self),
        SparseTrainingMethod(SNFS.self),
        SparseTrainingMethod(SNIP.self),
        SparseTrainingMethod(GradualMagnitudePruning.self),
        SparseTrainingMethod(NNrelief.self),
        SparseTrainingMethod(GraNet.self),
        SparseTrainingMethod(SRigL.self),
        SparseTrainingMethod(TopKAST.self),
    ]

    /// The method `sprig bench` trains unless told otherwise: RigL, the design card's method.
    public static let benchmarkDefault = SparseTrainingMethod(RigL.self)
}
