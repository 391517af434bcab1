#if MPI
import CMPI

/// MPI_COMM_WORLD of a job started by mpirun (or srun): every process of the job.
///
/// Initialises MPI on creation (once per process; a second instance is a programming
/// error) and finalises it in `finalize()`. MPI's default error handler stays in place,
/// so a failed collective, or a rank that died, ends the whole job instead of hanging it.
public final class WorldCommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let traffic = TrafficCounter()
    private let comm: MPI_Comm
    /// Receive buffer of `treeAllReduce`, kept between calls.
    private var scratch: [Float] = []

    /// Initialises MPI (if this process has not already) and joins MPI_COMM_WORLD.
    public init() {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            check(MPI_Init(nil, nil), "MPI_Init")
        }
        comm = sprig_mpi_comm_world()
        var r: Int32 = 0
        var s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
    }

    public func allReduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp, kind: TrafficKind) {
        traffic.add(buffer.count * MemoryLayout<T>.stride, as: kind)
        guard buffer.count > 0 else { return }
        check(MPI_Allreduce(sprig_mpi_in_place(), buffer.baseAddress, count(buffer.count),
                            T.mpiDatatype, op.mpiOp, comm), "MPI_Allreduce")
    }

    public func reduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp, root: Int, kind: TrafficKind) {
        precondition(root >= 0 && root < size, "root \(root) out of range for \(size) ranks")
        traffic.add(buffer.count * MemoryLayout<T>.stride, as: kind)
        guard buffer.count > 0 else { return }
        // MPI_IN_PLACE is the send buffer at the root only; other ranks send their buffer.
        let send: UnsafeRawPointer? = rank == root ? UnsafeRawPointer(sprig_mpi_in_place()) : UnsafeRawPointer(buffer.baseAddress)
        check(MPI_Reduce(send, buffer.baseAddress, count(buffer.count), T.mpiDatatype, op.mpiOp,
                         Int32(root), comm), "MPI_Reduce")
    }

    public func treeAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>, kind: TrafficKind) {
        guard treeReductionIsExact else {
            allReduce(buffer, op: .sum, kind: kind)
            return
        }
        withScratch(for: buffer, kind: kind) { received, n in
            var distance = 1
            while distance < size {
                let partner = Int32(rank ^ distance)
                check(MPI_Sendrecv(buffer.baseAddress, n, Float.mpiDatatype, partner, 7,
                                   received.baseAddress, n, Float.mpiDatatype, partner, 7, comm, nil), "MPI_Sendrecv")
                let mine = buffer.baseAddress!, theirs = received.baseAddress!
                for i in 0..<buffer.count { mine[i] += theirs[i] }
                distance <<= 1
            }
        }
    }

    public func treeReduce(_ buffer: UnsafeMutableBufferPointer<Float>, kind: TrafficKind) {
        guard treeReductionIsExact else {
            reduce(buffer, op: .sum, root: 0, kind: kind)
            return
        }
        withScratch(for: buffer, kind: kind) { received, n in
            var distance = 1
            while distance < size {
                if rank % (2 * distance) == distance {
                    check(MPI_Send(buffer.baseAddress, n, Float.mpiDatatype, Int32(rank - distance), 8, comm), "MPI_Send")
                    return
                }
                check(MPI_Recv(received.baseAddress, n, Float.mpiDatatype, Int32(rank + distance), 8, comm, nil), "MPI_Recv")
                let mine = buffer.baseAddress!, theirs = received.baseAddress!
                for i in 0..<buffer.count { mine[i] += theirs[i] }
                distance <<= 1
            }
        }
    }

    /// Counts `buffer`'s bytes and, when there is something to exchange, runs `body` with
    /// a receive buffer at least as long and the element count.
    private func withScratch(for buffer: UnsafeMutableBufferPointer<Float>, kind: TrafficKind,
                             _ body: (UnsafeMutableBufferPointer<Float>, Int32) -> Void) {
        traffic.add(buffer.count * MemoryLayout<Float>.stride, as: kind)
        guard buffer.count > 0, size > 1 else { return }
        if scratch.count < buffer.count { scratch = [Float](repeating: 0, count: buffer.count) }
        let n = count(buffer.count)
        scratch.withUnsafeMutableBufferPointer { body($0, n) }
    }

    public func broadcast<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int, kind: TrafficKind) {
        precondition(root >= 0 && root < size, "root \(root) out of range for \(size) ranks")
        traffic.add(buffer.count * MemoryLayout<T>.stride, as: kind)
        guard buffer.count > 0 else { return }
        check(MPI_Bcast(buffer.baseAddress, count(buffer.count), T.mpiDatatype, Int32(root), comm), "MPI_Bcast")
    }

    public func allGather<T: CollectiveScalar>(_ values: UnsafeBufferPointer<T>, kind: TrafficKind) -> [T] {
        traffic.add(values.count * MemoryLayout<T>.stride, as: kind)
        guard values.count > 0 else { return [] }
        return [T](unsafeUninitializedCapacity: values.count * size) { out, initialized in
            check(MPI_Allgather(values.baseAddress, count(values.count), T.mpiDatatype,
                                out.baseAddress, count(values.count), T.mpiDatatype, comm), "MPI_Allgather")
            initialized = values.count * size
        }
    }

    public func barrier() {
        check(MPI_Barrier(comm), "MPI_Barrier")
    }

    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        fatalError("MPI_Abort returned")
    }

    public func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    private func count(_ n: Int) -> Int32 {
        precondition(n <= Int(Int32.max), "a collective of \(n) elements exceeds MPI's Int32 count")
        return Int32(n)
    }
}

/// MPI's default handler aborts on error, so a failure code here means the handler was
/// changed: a programming error.
private func check(_ code: Int32, _ what: String) {
    precondition(code == sprig_mpi_success(), "\(what) failed with code \(code)")
}

extension ReductionOp {
    var mpiOp: MPI_Op {
        switch self {
        case .sum: return sprig_mpi_sum()
        case .max: return sprig_mpi_max()
        case .min: return sprig_mpi_min()
        }
    }
}
#endif
