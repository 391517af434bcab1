#if MPI
import CMPI
#endif

/// An element type that collectives carry. Callers pass typed buffers; the communicator
/// derives the element count and the MPI datatype from the type, so no call site ever
/// names a count or a datatype.
public protocol CollectiveScalar: Comparable, Sendable, ExpressibleByIntegerLiteral {
    #if MPI
    /// The MPI datatype with the same layout as `Self`.
    static var mpiDatatype: MPI_Datatype { get }
    #endif
}

#if MPI
extension Float: CollectiveScalar { public static var mpiDatatype: MPI_Datatype { sprig_mpi_float() } }
extension Double: CollectiveScalar { public static var mpiDatatype: MPI_Datatype { sprig_mpi_double() } }
extension Int32: CollectiveScalar { public static var mpiDatatype: MPI_Datatype { sprig_mpi_int32() } }
extension Int64: CollectiveScalar { public static var mpiDatatype: MPI_Datatype { sprig_mpi_int64() } }
extension UInt8: CollectiveScalar { public static var mpiDatatype: MPI_Datatype { sprig_mpi_uint8() } }
extension UInt64: CollectiveScalar { public static var mpiDatatype: MPI_Datatype { sprig_mpi_uint64() } }
#else
extension Float: CollectiveScalar {}
extension Double: CollectiveScalar {}
extension Int32: CollectiveScalar {}
extension Int64: CollectiveScalar {}
extension UInt8: CollectiveScalar {}
extension UInt64: CollectiveScalar {}
#endif

extension CollectiveScalar {
    /// The filler of a receive buffer before a broadcast overwrites it.
    static var zeroForBroadcast: Self { 0 }
}

/// The reduction applied element-wise by `allReduce` and `reduce`.
public enum ReductionOp: Sendable {
    case sum, max, min
}
