import MPI
import SprigSparsity

/// Rank 0 decides every mask change and the others follow: rank 0 runs the decision and
/// broadcasts it as a compact diff (per layer, the dropped and grown indices: far smaller
/// than a bitmap when few connections change); every rank then applies the same diffs
/// (`MaskDiff.apply(_:to:)`), so masks stay identical on every replica (docs/ARCHITECTURE.md, "The life of one RigL update step").
public struct MaskSynchronizer {
    let communicator: Communicator

    public init(replicas: Replicas) {
        self.communicator = replicas.communicator
    }

    /// Runs `decide` on rank 0 only and returns its diffs on every rank.
    public func share(decide: () -> [MaskDiff]) -> [MaskDiff] {
        var encoded: [Int32] = communicator.isRoot ? MaskDiff.encode(decide()) : []
        communicator.broadcast(variable: &encoded, root: 0, kind: .maskDiffs)
        return MaskDiff.decode(encoded)
    }

    /// Gathers every rank's growth proposals (per sparse layer, at most the layer's grow
    /// count each) for rank 0's decision: per layer, the union of all ranks' candidates, in
    /// rank order. Encoded as UInt64 pairs (position, score bits), padded to the longest
    /// rank's list and all-gathered; only rank 0 uses the result.
    public func gatherCandidates(_ proposals: [[GrowthCandidate]]) -> [[GrowthCandidate]] {
        var mine: [UInt64] = []
        for layer in proposals {
            mine.append(UInt64(layer.count))
            for c in layer { mine += [UInt64(c.position), UInt64(c.score.bitPattern)] }
        }
        guard communicator.size > 1 else { return proposals }
        let longest = Int(communicator.allReduce(Int64(mine.count), op: .max, kind: .growthCandidates))
        mine += [UInt64](repeating: 0, count: longest - mine.count)
        let all = communicator.allGather(mine, kind: .growthCandidates)
        var union = [[GrowthCandidate]](repeating: [], count: proposals.count)
        for rank in 0..<communicator.size {
            var i = rank * longest
            for l in proposals.indices {
                let n = Int(all[i])
                i += 1
                for _ in 0..<n {
                    union[l].append(GrowthCandidate(position: Int(all[i]), score: Float(bitPattern: UInt32(all[i + 1]))))
                    i += 2
                }
            }
        }
        return union
    }
}
