/// A dense row-major matrix of `Float` with its own aligned storage.
///
/// Activations are stored feature-major: `rows` features by `cols` samples, so that the
/// values of one feature over a batch are contiguous (docs/ARCHITECTURE.md, "Kernels"). A matrix is a
/// reference type so that layers can hand their buffers to each other without copying;
/// its storage is released with it.
public final class Matrix {
    public let rows: Int
    public let cols: Int
    /// `rows * cols` values, row `r` at `data + r * cols`; 64-byte aligned, zero on creation.
    public let data: UnsafeMutablePointer<Float>
    /// The matrix whose storage this one views (nil when it owns its storage).
    private let owner: Matrix?

    /// A view of `other`'s storage with another shape of the same size (no copy). A
    /// convolution's output, channels x (positions x batch) for the product, is the next
    /// layer's input as (channels x positions) x batch.
    public init(viewing other: Matrix, rows: Int, cols: Int) {
        precondition(rows * cols == other.count, "a view of \(other.rows)x\(other.cols) cannot be \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        data = other.data
        owner = other
    }

    public init(rows: Int, cols: Int) {
        precondition(rows >= 0 && cols >= 0, "negative matrix shape \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(rows * cols, 1) * MemoryLayout<Float>.stride, alignment: 64)
        data = raw.bindMemory(to: Float.self, capacity: max(rows * cols, 1))
        data.initialize(repeating: 0, count: max(rows * cols, 1))
        owner = nil
    }

    deinit { if owner == nil { data.deallocate() } }

    public var count: Int { rows * cols }

    public subscript(row: Int, col: Int) -> Float {
        get { data[row * cols + col] }
        set { data[row * cols + col] = newValue }
    }

    /// The values as an array, row after row.
    public var values: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Returns `existing` if it has the shape `rows x cols`, otherwise a new zero matrix.
    public static func reuse(_ existing: Matrix?, rows: Int, cols: Int) -> Matrix {
        if let existing, existing.rows == rows, existing.cols == cols { return existing }
        return Matrix(rows: rows, cols: cols)
    }
}
