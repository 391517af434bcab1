/// A group of ranks that run the same program and meet in collectives.
///
/// Every collective takes typed buffers: the element count and datatype come from the
/// buffer, never from the caller. Every collective counts the bytes it carries in
/// `traffic`, under the `kind` the caller names. Collectives must be called by every rank
/// in the same order with buffers of the same length (the MPI rule); a length mismatch is
/// a programming error.
///
/// Two conformers: `WorldCommunicator` (MPI_COMM_WORLD under mpirun) and
/// `SingleProcessCommunicator` (rank 0 of 1: runs without mpirun, and unit tests).
public protocol Communicator: AnyObject {
    /// This process's rank, in `0..<size`.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }
    /// Payload bytes handed to collectives so far.
    var traffic: TrafficCounter { get }

    /// Combines `buffer` element-wise across ranks with `op`, in place (MPI_IN_PLACE):
    /// afterwards every rank holds the combined values.
    func allReduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp, kind: TrafficKind)

    /// Combines `buffer` element-wise across ranks into `root`'s buffer, in place. Other
    /// ranks' buffers are left unspecified.
    func reduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp, root: Int, kind: TrafficKind)

    /// Sums `buffer` across ranks in place as a pairwise tree over ranks, `((r0 + r1) +
    /// (r2 + r3)) + ...`, by recursive doubling: at level l each rank exchanges its partial
    /// sum with rank `r XOR 2^l` and adds. IEEE addition is commutative, so both partners
    /// get the same bits; the result is bitwise identical on every rank, and identical to
    /// the same tree computed by one process. Needs a power-of-two number of ranks
    /// (`treeReductionIsExact`); otherwise it falls back to an ordinary sum all-reduce.
    func treeAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>, kind: TrafficKind)

    /// Sums `buffer` into rank 0's buffer along the same pairwise tree as `treeAllReduce`
    /// (so rank 0 gets the same bits), sending each partial sum once: at level l, rank
    /// `r + 2^l` sends to rank r for every r divisible by `2^(l+1)`. Half the traffic of
    /// the all-reduce, for data only rank 0 needs. Other ranks' buffers are left
    /// unspecified. Falls back to an ordinary reduce when the size is not a power of two.
    func treeReduce(_ buffer: UnsafeMutableBufferPointer<Float>, kind: TrafficKind)

    /// Copies `root`'s `buffer` into every rank's `buffer`.
    func broadcast<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int, kind: TrafficKind)

    /// Gathers every rank's `values` (the same count on every rank) into one array ordered
    /// by rank.
    func allGather<T: CollectiveScalar>(_ values: UnsafeBufferPointer<T>, kind: TrafficKind) -> [T]

    /// Waits until every rank has arrived.
    func barrier()

    /// Ends every rank of the job at once with `code` (MPI_Abort); for failures that not
    /// every rank sees, where a clean collective exit is impossible.
    func abort(code: Int32) -> Never

    /// Shuts the communicator down (MPI_Finalize); call once, last.
    func finalize()
}

extension Communicator {
    /// In-place all-reduce of a Swift array.
    public func allReduce<T: CollectiveScalar>(_ values: inout [T], op: ReductionOp = .sum, kind: TrafficKind) {
        values.withUnsafeMutableBufferPointer { allReduce($0, op: op, kind: kind) }
    }

    /// All-reduce of one value.
    public func allReduce<T: CollectiveScalar>(_ value: T, op: ReductionOp, kind: TrafficKind) -> T {
        var values = [value]
        allReduce(&values, op: op, kind: kind)
        return values[0]
    }

    /// In-place reduce-to-root of a Swift array.
    public func reduce<T: CollectiveScalar>(_ values: inout [T], op: ReductionOp = .sum, root: Int = 0, kind: TrafficKind) {
        values.withUnsafeMutableBufferPointer { reduce($0, op: op, root: root, kind: kind) }
    }

    /// Broadcast of a Swift array whose length every rank already knows.
    public func broadcast<T: CollectiveScalar>(_ values: inout [T], root: Int = 0, kind: TrafficKind) {
        values.withUnsafeMutableBufferPointer { broadcast($0, root: root, kind: kind) }
    }

    /// Broadcast of an array whose length only `root` knows: the length goes first, then
    /// the values. On return every rank holds `root`'s values.
    public func broadcast<T: CollectiveScalar>(variable values: inout [T], root: Int = 0, kind: TrafficKind) {
        var length = [Int64(values.count)]
        broadcast(&length, root: root, kind: kind)
        if rank != root { values = [T](repeating: values.first ?? T.zeroForBroadcast, count: Int(length[0])) }
        if length[0] > 0 { broadcast(&values, root: root, kind: kind) }
    }

    /// Broadcast of a byte string whose length only `root` knows.
    public func broadcast(bytes: inout [UInt8], root: Int = 0, kind: TrafficKind) {
        broadcast(variable: &bytes, root: root, kind: kind)
    }

    /// All-gather of a Swift array.
    public func allGather<T: CollectiveScalar>(_ values: [T], kind: TrafficKind) -> [T] {
        values.withUnsafeBufferPointer { allGather($0, kind: kind) }
    }

    /// True when `treeAllReduce` reproduces the pairwise tree (a power-of-two size).
    public var treeReductionIsExact: Bool { size & (size - 1) == 0 }

    /// True on rank 0, the rank that decides, prints and writes files.
    public var isRoot: Bool { rank == 0 }
}
