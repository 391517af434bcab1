import SprigTensor

/// Which examples each rank trains on: a seeded global shuffle per epoch, cut into global
/// batches of `globalBatch`; rank r of n takes the r-th of n equal slices of every batch.
///
/// The shuffle is a stateless function of (seed, epoch), so every rank computes the same
/// order without communicating and the union of the ranks' slices is exactly the global
/// batch a single process would take: the basis of rank-count invariance. The examples
/// that do not fill a last global batch are left out of that epoch.
public struct BatchPlan {
    public let exampleCount: Int
    public let globalBatch: Int
    public let rank: Int
    public let ranks: Int
    public let seed: UInt64

    public init(exampleCount: Int, globalBatch: Int, rank: Int, ranks: Int, seed: UInt64) {
        precondition(globalBatch % ranks == 0, "global batch \(globalBatch) not divisible by \(ranks) ranks")
        precondition(globalBatch <= exampleCount, "global batch \(globalBatch) larger than the data set (\(exampleCount))")
        self.exampleCount = exampleCount
        self.globalBatch = globalBatch
        self.rank = rank
        self.ranks = ranks
        self.seed = seed
    }

    public var stepsPerEpoch: Int { exampleCount / globalBatch }
    public var localBatch: Int { globalBatch / ranks }

    /// The order of the examples in `epoch`.
    public func order(epoch: Int) -> [Int32] {
        var random = StatelessRandom(seed: seed, purpose: .shuffle, step: epoch)
        return random.permutation(exampleCount)
    }

    /// This rank's examples in global batch `batch` of an epoch whose order is `order`.
    public func localIndices(_ order: [Int32], batch: Int) -> ArraySlice<Int32> {
        let start = batch * globalBatch + rank * localBatch
        return order[start..<(start + localBatch)]
    }
}
