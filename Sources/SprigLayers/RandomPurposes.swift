import SprigTensor

extension RandomPurpose {
    /// Initial weights (`WeightInitializer`).
    public static let weightInit = RandomPurpose(rawValue: 2)
    /// Initial biases.
    public static let biasInit = RandomPurpose(rawValue: 3)
}

extension RandomPurpose {
    /// Dropout masks (`Dropout`).
    public static let dropout = RandomPurpose(rawValue: 9)
}
