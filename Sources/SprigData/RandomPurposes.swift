import SprigTensor

extension RandomPurpose {
    /// The order of the training examples in an epoch (`BatchPlan`).
    public static let shuffle = RandomPurpose(rawValue: 1)
}
