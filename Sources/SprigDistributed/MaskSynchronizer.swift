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
}
