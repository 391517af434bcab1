/// Which entries of a `rows x cols` matrix are active, in compressed sparse row (CSR) form:
/// row i's active columns are `columns[rowStart[i] ..< rowStart[i+1]]`, ascending. The
/// values of the active entries live elsewhere (in a `ParameterStore`), in the same order.
public struct SparsePattern: Equatable {
    public let rows: Int
    public let cols: Int
    public private(set) var rowStart: [Int32]
    public private(set) var columns: [Int32]

    /// The pattern whose active entries are the flat indices `r * cols + c` in
    /// `activeIndices` (any order; duplicates are a programming error). Flat indices are
    /// 64-bit, so a layer may have more than 2^31 positions; columns and active counts stay
    /// below 2^31.
    public init(rows: Int, cols: Int, activeIndices: [Int]) {
        precondition(cols <= Int(Int32.max) && activeIndices.count <= Int(Int32.max), "layer too large for Int32 CSR indices")
        self.rows = rows
        self.cols = cols
        let sorted = activeIndices.sorted()
        var rowStart = [Int32](repeating: 0, count: rows + 1)
        var columns = [Int32]()
        columns.reserveCapacity(sorted.count)
        var previous = -1
        for index in sorted {
            precondition(index > previous && index < rows * cols, "bad or duplicate active index \(index)")
            previous = index
            rowStart[index / cols + 1] += 1
            columns.append(Int32(index % cols))
        }
        for r in 0..<rows { rowStart[r + 1] += rowStart[r] }
        self.rowStart = rowStart
        self.columns = columns
    }

    /// The pattern with the given CSR arrays, or nil when they are not a valid CSR
    /// pattern of a `rows x cols` matrix (`problem` says why).
    public init?(rows: Int, cols: Int, rowStart: [Int32], columns: [Int32]) {
        guard SparsePattern.problem(rows: rows, cols: cols, rowStart: rowStart, columns: columns) == nil else { return nil }
        self.rows = rows
        self.cols = cols
        self.rowStart = rowStart
        self.columns = columns
    }

    /// Why the CSR arrays are not a valid pattern of a `rows x cols` matrix (row starts
    /// from 0 to `columns.count`, non-decreasing; each row's columns ascending and below
    /// `cols`), or nil when they are. Messages name the arrays as PyTorch's CSR tensors do
    /// (`crow_indices`, the row starts).
    public static func problem(rows: Int, cols: Int, rowStart: [Int32], columns: [Int32]) -> String? {
        guard rows >= 0, cols >= 0, cols <= Int(Int32.max) else { return "a \(rows) x \(cols) matrix cannot be a CSR pattern" }
        guard rowStart.count == rows + 1 else { return "crow_indices has \(rowStart.count) entries, expected \(rows + 1) (rows + 1)" }
        guard rowStart.first == 0, Int(rowStart[rows]) == columns.count else {
            return "crow_indices must run from 0 to the \(columns.count) entries, got \(rowStart.first ?? -1) to \(rowStart[rows])"
        }
        // Non-decreasing from 0 to the count, so every row's range lies within the columns.
        for r in 0..<rows where rowStart[r] > rowStart[r + 1] {
            return "crow_indices decrease at row \(r) (\(rowStart[r]) then \(rowStart[r + 1]))"
        }
        for r in 0..<rows {
            var previous: Int32 = -1
            for k in Int(rowStart[r])..<Int(rowStart[r + 1]) {
                guard columns[k] >= 0, Int(columns[k]) < cols else { return "column \(columns[k]) in row \(r) is outside 0..<\(cols)" }
                guard columns[k] > previous else { return "the columns of row \(r) are not ascending (\(previous) then \(columns[k]))" }
                previous = columns[k]
            }
        }
        return nil
    }

    /// Every entry active.
    public static func dense(rows: Int, cols: Int) -> SparsePattern {
        SparsePattern(rows: rows, cols: cols, activeIndices: Array(0..<(rows * cols)))
    }

    public var activeCount: Int { columns.count }
    public var density: Double { Double(activeCount) / Double(rows * cols) }

    /// The flat indices `r * cols + c` of the active entries, in storage (CSR) order.
    public var activeIndices: [Int] {
        var out = [Int]()
        out.reserveCapacity(activeCount)
        for r in 0..<rows {
            for k in Int(rowStart[r])..<Int(rowStart[r + 1]) { out.append(r * cols + Int(columns[k])) }
        }
        return out
    }

    /// Bytes of the index arrays.
    public var bytes: Int { (rowStart.count + columns.count) * MemoryLayout<Int32>.stride }
}
