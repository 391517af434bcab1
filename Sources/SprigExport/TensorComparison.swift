import SprigTensor

/// Compares two lists of named tensors: the relative difference of a tensor is
/// `max_i |a_i - b_i| / max_i |a_i|` (the infinity-norm relative error, which stays
/// meaningful for weights near zero). Equal values (a NaN at the same position in both
/// included) differ by 0; a NaN facing a number differs by infinity, so it is reported.
/// Integer tensors (the indices of sparse weights) must match exactly.
///
/// `differingBits` counts the values whose bit patterns differ, which a difference of 0 can
/// hide: -0 and +0, or two NaNs with other payloads. "The same bits" means none.
public struct TensorComparison {
    public struct Row {
        public var name: String
        public var shape: [Int]
        public var maxAbsoluteDifference: Float
        public var relativeDifference: Double
        /// Values whose float32 bit patterns differ (-0 against +0 included).
        public var differingBits: Int
    }

    public private(set) var rows: [Row] = []
    /// Why the lists cannot be compared (names or shapes differ), if they cannot.
    public private(set) var mismatch: String?

    public init(reference: [NamedTensor], other: [NamedTensor]) {
        let others = Dictionary(other.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard Set(reference.map(\.name)) == Set(others.keys), reference.count == other.count else {
            mismatch = "tensor names differ: \(reference.map(\.name)) vs \(other.map(\.name))"
            return
        }
        for a in reference {
            let b = others[a.name]!
            guard a.shape == b.shape, a.dtype == b.dtype else {
                mismatch = "tensor \(a.name): \(a.dtype.rawValue) \(a.shape) vs \(b.dtype.rawValue) \(b.shape)"
                return
            }
            guard a.integers == b.integers else {
                mismatch = "tensor \(a.name): the indices differ"
                return
            }
            var maxDiff: Float = 0, maxRef: Float = 0, differingBits = 0
            for i in 0..<a.values.count {
                let x = a.values[i], y = b.values[i]
                if x.bitPattern != y.bitPattern { differingBits += 1 }
                let diff: Float = x == y || (x.isNaN && y.isNaN) ? 0 : x.isNaN || y.isNaN ? .infinity : abs(x - y)
                maxDiff = max(maxDiff, diff)
                maxRef = max(maxRef, abs(x))
            }
            let relative = maxDiff == 0 ? 0 : Double(maxDiff) / Double(max(maxRef, Float.leastNormalMagnitude))
            rows.append(Row(name: a.name, shape: a.shape, maxAbsoluteDifference: maxDiff, relativeDifference: relative,
                            differingBits: differingBits))
        }
    }

    /// The largest relative difference over all tensors.
    public var maxRelativeDifference: Double { rows.map(\.relativeDifference).max() ?? 0 }

    /// Values whose bits differ, over all tensors.
    public var differingBits: Int { rows.reduce(0) { $0 + $1.differingBits } }
}
