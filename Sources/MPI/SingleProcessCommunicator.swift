/// Rank 0 of 1: the communicator of a run started without mpirun, and of unit tests.
///
/// Every collective is the identity (a reduction over one rank leaves the buffer as it
/// is), but the bytes are still counted, so that a single-process run reports what a
/// multi-rank run of the same model would carry per rank.
public final class SingleProcessCommunicator: Communicator {
    public let rank = 0
    public let size = 1
    public let traffic = TrafficCounter()

    public init() {}

    public func allReduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp, kind: TrafficKind) {
        traffic.add(buffer.count * MemoryLayout<T>.stride, as: kind)
    }

    public func reduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp, root: Int, kind: TrafficKind) {
        precondition(root == 0, "root \(root) out of range for 1 rank")
        traffic.add(buffer.count * MemoryLayout<T>.stride, as: kind)
    }

    public func treeAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>, kind: TrafficKind) {
        traffic.add(buffer.count * MemoryLayout<Float>.stride, as: kind)
    }

    public func treeReduce(_ buffer: UnsafeMutableBufferPointer<Float>, kind: TrafficKind) {
        traffic.add(buffer.count * MemoryLayout<Float>.stride, as: kind)
    }

    public func broadcast<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int, kind: TrafficKind) {
        precondition(root == 0, "root \(root) out of range for 1 rank")
        traffic.add(buffer.count * MemoryLayout<T>.stride, as: kind)
    }

    public func allGather<T: CollectiveScalar>(_ values: UnsafeBufferPointer<T>, kind: TrafficKind) -> [T] {
        traffic.add(values.count * MemoryLayout<T>.stride, as: kind)
        return Array(values)
    }

    public func barrier() {}

    public func abort(code: Int32) -> Never {
        exit(code)
    }

    public func finalize() {}
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
