/// The values of a data set's examples, in the element type its files hold. Bytes stay
/// bytes in memory (CIFAR-10's 60,000 images are 184 MB as UInt8, 737 MB as Float) and
/// become floats only when a batch is gathered (`Dataset.gather`).
public enum ExampleValues: Equatable, Sendable {
    /// Unsigned bytes (IDX, CIFAR, NumPy uint8): pixels in 0...255.
    case uint8([UInt8])
    /// 32-bit floats (NumPy float32 or float64 arrays).
    case float32([Float])

    /// The number of values.
    public var count: Int {
        switch self {
        case .uint8(let v): return v.count
        case .float32(let v): return v.count
        }
    }

    /// The element type's NumPy name: `uint8` or `float32`.
    public var elementType: String {
        switch self {
        case .uint8: return "uint8"
        case .float32: return "float32"
        }
    }

    /// The values in `range`.
    public subscript(range: Range<Int>) -> ExampleValues {
        switch self {
        case .uint8(let v): return .uint8(Array(v[range]))
        case .float32(let v): return .float32(Array(v[range]))
        }
    }
}
