import SprigTensor

extension RandomPurpose {
    /// Initial random masks, and SET's random growth scores.
    public static let maskInit = RandomPurpose(rawValue: 4)
    /// Tie-breaking keys of the drop (smallest |w|).
    public static let dropNoise = RandomPurpose(rawValue: 5)
    /// Tie-breaking keys of the growth.
    public static let grow = RandomPurpose(rawValue: 6)
    /// NNrelief's pruning set.
    public static let pruningSet = RandomPurpose(rawValue: 7)
}
