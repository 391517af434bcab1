import SprigTensor

extension RandomPurpose {
    /// Initial random masks.
    public static let maskInit = RandomPurpose(rawValue: 4)
    /// Tie-breaking keys of the drop (smallest |w|).
    public static let dropNoise = RandomPurpose(rawValue: 5)
    /// Tie-breaking keys of the growth, and SET's random draws.
    public static let grow = RandomPurpose(rawValue: 6)
    /// NNrelief's pruning set.
    public static let pruningSet = RandomPurpose(rawValue: 7)
}
