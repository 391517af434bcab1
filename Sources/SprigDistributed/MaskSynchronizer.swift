import MPI
import SprigLayers
import SprigSparsity

/// Rank 0 decides every mask change and the others follow: rank 0 runs the decision,
/// broadcasts it as a compact diff (per layer, the dropped and grown indices: far smaller
/// than a bitmap when few connections change), and every rank applies the same diff, so
/// masks stay identical on every replica (docs/ARCHITECTURE.md, "The life of a RigL update step").
public struct MaskSynchronizer {
    let communicator: Communicator

    public init(replicas: Replicas) {
        self.communicator = replicas.communicator
    }

    /// Runs `decide` on rank 0 only, shares its diffs, applies them to `layers` on every
    /// rank, and returns them.
    @discardableResult
    public func update(_ layers: [SparseLinear], decide: () -> [MaskDiff]) -> [MaskDiff] {
        var encoded: [Int32] = communicator.isRoot ? MaskDiff.encode(decide()) : []
        communicator.broadcast(variable: &encoded, root: 0, kind: .maskDiffs)
        let diffs = MaskDiff.decode(encoded)
        for diff in diffs where !(diff.dropped.isEmpty && diff.grown.isEmpty && diff.prunedBiases.isEmpty) {
            layers[diff.sparseLayer].apply(diff)
        }
        return diffs
    }
}
