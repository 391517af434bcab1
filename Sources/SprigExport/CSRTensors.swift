import SprigTensor

/// A sparse weight in a safetensors file, in compressed sparse row (CSR) form, as the parts
/// of PyTorch's `torch.sparse_csr_tensor`: for a weight `fc1.weight` whose matrix is
/// `rows x cols`,
///
/// - `fc1.weight.crow_indices`: I64, `rows + 1` entries, from 0 up to `nnz`, non-decreasing;
///   row r's entries are `crow[r] ..< crow[r+1]`;
/// - `fc1.weight.col_indices`: I64, `nnz` entries, ascending within each row, below `cols`;
/// - `fc1.weight.values`: F32, `nnz` entries, the active weights in the same order;
/// - metadata `fc1.weight.shape`: the dense shape, e.g. `"[300, 784]"` (a convolution's
///   kernels `"[O, C, k, k]"`, whose matrix is `O x (C k k)`), and `weights_format` =
///   `"sparse_csr"` for the file.
///
/// Both index tensors are I64 because `torch.sparse_csr_tensor` wants them of one dtype
/// and `crow_indices` must count past 2^31 in general; Sprig itself reads at most
/// `Int32.max` active entries per layer (its CSR arrays are Int32) and says so when a file
/// holds more. Nothing here is dense-sized: memory follows the active entries.
public enum CSRTensors {
    /// The metadata key and value that mark a file with sparse weights.
    public static let formatKey = "weights_format"
    public static let formatValue = "sparse_csr"

    /// The metadata key of `name`'s dense shape.
    public static func shapeKey(_ name: String) -> String { name + ".shape" }

    /// A shape as the metadata writes it: `[300, 784]`.
    public static func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

    /// The three tensors of weight `name` with `pattern` and its active `values` (CSR order).
    public static func tensors(name: String, pattern: SparsePattern, values: [Float]) -> [NamedTensor] {
        precondition(values.count == pattern.activeCount, "\(name): \(values.count) values for \(pattern.activeCount) active entries")
        return [NamedTensor(name: name + ".crow_indices", shape: [pattern.rows + 1], integers: pattern.rowStart.map(Int64.init)),
                NamedTensor(name: name + ".col_indices", shape: [pattern.activeCount], integers: pattern.columns.map(Int64.init)),
                NamedTensor(name: name + ".values", shape: [pattern.activeCount], values: values)]
    }

    /// Whether `tensors` hold weight `name` in CSR form (its `crow_indices` is there).
    public static func holds(_ name: String, in tensors: [String: NamedTensor]) -> Bool {
        tensors[name + ".crow_indices"] != nil
    }

    /// Reads weight `name` as a `rows x cols` CSR matrix from `tensors`, checking every part;
    /// `source` names the file in errors.
    public static func read(_ name: String, rows: Int, cols: Int, from tensors: [String: NamedTensor],
                            source: String) throws -> (pattern: SparsePattern, values: [Float]) {
        func fail(_ message: String) -> SprigError { SprigError(source, "sparse weight \(name): \(message)") }
        guard let crow = tensors[name + ".crow_indices"], let col = tensors[name + ".col_indices"],
              let values = tensors[name + ".values"] else {
            throw fail("needs the tensors \(name).crow_indices, \(name).col_indices and \(name).values")
        }
        guard crow.dtype == .i64, col.dtype == .i64, values.dtype == .f32 else {
            throw fail("crow_indices and col_indices must be I64 and values F32, got \(crow.dtype.rawValue), \(col.dtype.rawValue), \(values.dtype.rawValue)")
        }
        guard crow.shape == [rows + 1] else {
            throw fail("crow_indices has shape \(crow.shape), expected [\(rows + 1)] (rows + 1 of a \(rows) x \(cols) matrix)")
        }
        let nnz = col.count
        guard col.shape == [nnz], values.shape == [nnz] else {
            throw fail("col_indices \(col.shape) and values \(values.shape) must be 1-D of the same length")
        }
        guard nnz <= Int(Int32.max) else { throw fail("\(nnz) active entries; Sprig reads at most \(Int32.max) per layer") }
        // Indices outside Int32 become -1, which the pattern check rejects with the row.
        let rowStart = crow.integers.map { Int32(exactly: $0) ?? -1 }, columns = col.integers.map { Int32(exactly: $0) ?? -1 }
        if let problem = SparsePattern.problem(rows: rows, cols: cols, rowStart: rowStart, columns: columns) { throw fail(problem) }
        let pattern = SparsePattern(rows: rows, cols: cols, rowStart: rowStart, columns: columns)!
        return (pattern, values.values)
    }
}
