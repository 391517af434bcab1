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

extension Dataset {
    /// Writes the examples `indices` into `x` feature-major (`x[f, j]` = feature f of the
    /// j-th example, normalised by `normalization`) and their labels into `labels`.
    /// Specialised here for the index collections the training loop passes, since a
    /// generic call from another module would otherwise run unspecialised.
    @_specialize(exported: true, where C == ArraySlice<Int32>)
    @_specialize(exported: true, where C == Range<Int32>)
    public func gather<C: Collection>(_ indices: C, normalization: Normalization, into x: Matrix, labels: inout [Int32]) where C.Element == Int32 {
        let features = featureCount
        precondition(x.rows == features && x.cols == indices.count, "batch matrix is \(x.rows)x\(x.cols), need \(features)x\(indices.count)")
        labels.removeAll(keepingCapacity: true)
        let b = x.cols
        // A tiled transpose: up to `tile` examples at a time, feature by feature, so that
        // the writes to each row of `x` are contiguous instead of `b` floats apart.
        let tile = 16
        var sources = [UnsafePointer<UInt8>](repeating: UnsafePointer(bitPattern: 1)!, count: tile)
        normalization.table.withUnsafeBufferPointer { table in
            pixels.withUnsafeBufferPointer { px in
                var j0 = 0
                var position = indices.startIndex
                while j0 < b {
                    let width = min(tile, b - j0)
                    for t in 0..<width {
                        let index = Int(indices[position])
                        sources[t] = px.baseAddress! + index * features
                        labels.append(Int32(self.labels[index]))
                        position = indices.index(after: position)
                    }
                    sources.withUnsafeBufferPointer { src in
                        for f in 0..<features {
                            let row = x.data + f * b + j0
                            for t in 0..<width { row[t] = table[Int(src[t][f])] }
                        }
                    }
                    j0 += width
                }
            }
        }
    }
}
