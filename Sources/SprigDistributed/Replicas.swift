import MPI

/// The data-parallel group a run trains in: this process's rank among the replicas, and
/// the collectives the training loop needs besides its gradients and masks (evaluation
/// counts, NNrelief's statistics, traffic figures). It is the training loop's only door to
/// the communicator: SprigTraining does not import MPI, and everything that crosses the
/// wire is packed, sent and counted here in SprigDistributed.
///
/// Threading: like the communicator it wraps, a `Replicas` is used from one thread, and
/// every rank must make the same calls in the same order (they are collectives).
public final class Replicas {
    let communicator: Communicator

    public init(_ communicator: Communicator) {
        self.communicator = communicator
    }

    /// One process alone: rank 0 of 1, no MPI.
    public static func single() -> Replicas { Replicas(SingleProcessCommunicator()) }

    /// This process's rank, and the number of replicas.
    public var rank: Int { communicator.rank }
    public var count: Int { communicator.size }
    /// True on rank 0, the rank that decides masks and writes files.
    public var isRoot: Bool { communicator.isRoot }

    /// Sums `values` elementwise over the replicas, in place, on every rank (bookkeeping:
    /// evaluation counts and loss sums).
    public func sum(_ values: inout [Double]) {
        communicator.allReduce(&values, op: .sum, kind: .metrics)
    }

    /// Every rank's `values` (all of the same length), concatenated in rank order.
    public func allGather(_ values: [Double]) -> [Double] {
        communicator.allGather(values, kind: .metrics)
    }

    /// The bytes this rank has handed to collectives so far, by kind.
    public func traffic() -> TrafficSnapshot { TrafficSnapshot(bytes: communicator.traffic.snapshot()) }
}

/// The traffic counts of a moment, to subtract from a later one (`CommunicationReport`).
public struct TrafficSnapshot {
    let bytes: [TrafficKind: Int]
}
