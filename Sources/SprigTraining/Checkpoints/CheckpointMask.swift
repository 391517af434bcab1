import SprigTensor

extension Checkpoint {
    /// A sparse layer's mask in a checkpoint.
    ///
    /// Version 2 files store it in CSR form: `rows + 1` row starts, then the active
    /// columns, ascending within each row (Int32 each), so a layer may have more than 2^31
    /// positions while the file follows its active entries. Version 1 files stored the active
    /// flat indices `r * cols + c` as Int32, which limited layers to 2^31 positions; they are
    /// still read (and a checkpoint read from one encodes as version 1 again).
    public enum Mask: Equatable {
        case flat([Int32])
        case csr(rowStart: [Int32], columns: [Int32])

        /// The mask of `pattern`, in CSR form.
        public init(_ pattern: SparsePattern) {
            self = .csr(rowStart: pattern.rowStart, columns: pattern.columns)
        }

        /// Active entries.
        public var activeCount: Int {
            switch self {
            case .flat(let indices): return indices.count
            case .csr(_, let columns): return columns.count
            }
        }

        /// Int32 words of its payload.
        var wordCount: Int {
            switch self {
            case .flat(let indices): return indices.count
            case .csr(let rowStart, let columns): return rowStart.count + columns.count
            }
        }

        /// The pattern of a `rows x cols` layer; when the mask does not fit it (an index out
        /// of range or repeated, or CSR arrays that are not valid), the error `fail` makes of
        /// the reason.
        public func pattern(rows: Int, cols: Int, fail: (String) -> SprigError) throws -> SparsePattern {
            switch self {
            case .flat(let mask):
                let total = rows * cols
                let indices = mask.map(Int.init)
                guard indices.allSatisfy({ $0 >= 0 && $0 < total }), Set(indices).count == indices.count else {
                    throw fail("a mask index is out of range or repeated")
                }
                return SparsePattern(rows: rows, cols: cols, activeIndices: indices)
            case .csr(let rowStart, let columns):
                guard let pattern = SparsePattern(rows: rows, cols: cols, rowStart: rowStart, columns: columns) else {
                    throw fail("a mask is not a valid CSR pattern of a \(rows) x \(cols) layer "
                               + "(\(rowStart.count) row starts, \(columns.count) columns)")
                }
                return pattern
            }
        }
    }
}
