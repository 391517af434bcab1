import SprigTensor

/// The connections of a sparse layer that stay through a drop-and-grow update: the active
/// ones minus the dropped ones. Growth chooses among the others (the free positions,
/// just-dropped ones included). Works from the CSR pattern, in memory proportional to the
/// active weights: no array of the layer's dense size.
public struct KeptPositions {
    public let pattern: SparsePattern
    /// Flat positions `row * cols + col` dropped by this update.
    public let dropped: Set<Int>

    public init(pattern: SparsePattern, dropped: [Int]) {
        self.pattern = pattern
        self.dropped = Set(dropped)
    }

    public var rows: Int { pattern.rows }
    public var cols: Int { pattern.cols }

    /// Positions growth may choose from.
    public var freeCount: Int { rows * cols - (pattern.activeCount - dropped.count) }

    /// True when `position` stays active (binary search in its row's columns).
    public func contains(_ position: Int) -> Bool {
        let r = position / cols, c = Int32(position % cols)
        var lo = Int(pattern.rowStart[r]), hi = Int(pattern.rowStart[r + 1])
        while lo < hi {
            let mid = (lo + hi) / 2
            if pattern.columns[mid] < c { lo = mid + 1 } else { hi = mid }
        }
        return lo < Int(pattern.rowStart[r + 1]) && pattern.columns[lo] == c && !dropped.contains(position)
    }

    /// Calls `body` with each free column of row `r`, ascending.
    @inline(__always)
    public func forEachFree(inRow r: Int, _ body: (Int) -> Void) {
        let base = r * cols
        var c = 0
        for k in Int(pattern.rowStart[r])..<Int(pattern.rowStart[r + 1]) {
            let a = Int(pattern.columns[k])
            while c < a {
                body(c)
                c += 1
            }
            if dropped.contains(base + a) { body(a) }
            c = a + 1
        }
        while c < cols {
            body(c)
            c += 1
        }
    }

    /// Offers each free position `r * cols + c` of row `r` to `selection`, scored by
    /// `score(c)` (the loop every scored grow rule runs).
    @inline(__always)
    public func offerFree(inRow r: Int, to selection: inout TopK.Selection, score: (Int) -> Float) {
        let base = r * cols
        forEachFree(inRow: r) { c in selection.offer(base + c, score: score(c)) }
    }
}
