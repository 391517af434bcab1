import SprigTensor

extension RandomPurpose {
    /// The order of the training examples in an epoch (`BatchPlan`).
    public static let shuffle = RandomPurpose(rawValue: 1)
    /// The crops and flips of training images (`Augmentation`).
    public static let augmentation = RandomPurpose(rawValue: 8)
}
