/// How `DenseKernels` lays out its B operand: panels of 16 columns, row after row of the
/// inner dimension, so that a tile reads one contiguous 64-byte row per inner index.
extension DenseKernels {
    /// Copies columns `columns` of B's first `rows` rows into `panel` (`rows` x 16, zeros
    /// beyond the matrix's last column).
    static func pack(_ b: Operand, rows: Int, columns: Range<Int>, into panel: UnsafeMutablePointer<Float>) {
        let width = columns.count
        if b.columnStride == 1 && width == tileColumns {
            for r in 0..<rows {
                let source = b.base + r * b.rowStride + columns.lowerBound
                store8(load8(source), panel + r * tileColumns)
                store8(load8(source + 8), panel + r * tileColumns + 8)
            }
            return
        }
        if width < tileColumns { panel.update(repeating: 0, count: rows * tileColumns) }
        if b.columnStride == 1 {
            for r in 0..<rows { (panel + r * tileColumns).update(from: b.base + r * b.rowStride + columns.lowerBound, count: width) }
        } else {
            // A transposed operand (each column of the panel is a contiguous run of B's
            // storage when rowStride is 1): 8 x 8 blocks transposed in registers, the rest
            // one value at a time.
            let step = b.rowStride
            var l = 0
            if step == 1 {
                while l + 8 <= width {
                    let source = b.base + (columns.lowerBound + l) * b.columnStride
                    var r = 0
                    while r + 8 <= rows {
                        transpose8x8(source + r, b.columnStride, into: panel + r * tileColumns + l, tileColumns)
                        r += 8
                    }
                    for c in 0..<8 {
                        for tail in r..<rows { panel[tail * tileColumns + l + c] = source[c * b.columnStride + tail] }
                    }
                    l += 8
                }
            }
            while l < width {
                let source = b.base + (columns.lowerBound + l) * b.columnStride
                for r in 0..<rows { panel[r * tileColumns + l] = source[r * step] }
                l += 1
            }
        }
    }

    /// `target = source^T`: `source` rows x cols (row-major), `target` cols x rows, in 8 x 8
    /// blocks transposed in registers (the rest one value at a time).
    public static func transpose(rows: Int, cols: Int, source: UnsafePointer<Float>, target: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 8 <= rows {
            var j = 0
            while j + 8 <= cols {
                transpose8x8(source + i * cols + j, cols, into: target + j * rows + i, rows)
                j += 8
            }
            for jj in j..<cols { for ii in i..<(i + 8) { target[jj * rows + ii] = source[ii * cols + jj] } }
            i += 8
        }
        for ii in i..<rows { for jj in 0..<cols { target[jj * rows + ii] = source[ii * cols + jj] } }
    }

    /// Writes the transpose of the 8 x 8 block whose row i is `source + i * ld` (8
    /// contiguous values) as 8 rows at `target + k * ldt`: three rounds that each pair the
    /// rows differing in one bit of their index and split their lanes into even and odd.
    @inline(__always)
    static func transpose8x8(_ source: UnsafePointer<Float>, _ ld: Int, into target: UnsafeMutablePointer<Float>, _ ldt: Int) {
        var v0 = load8(source), v1 = load8(source + ld), v2 = load8(source + 2 * ld), v3 = load8(source + 3 * ld)
        var v4 = load8(source + 4 * ld), v5 = load8(source + 5 * ld), v6 = load8(source + 6 * ld), v7 = load8(source + 7 * ld)
        @inline(__always) func split(_ x: inout SIMD8<Float>, _ y: inout SIMD8<Float>) {
            let even = SIMD8(lowHalf: x.evenHalf, highHalf: y.evenHalf)
            y = SIMD8(lowHalf: x.oddHalf, highHalf: y.oddHalf)
            x = even
        }
        split(&v0, &v1); split(&v2, &v3); split(&v4, &v5); split(&v6, &v7)
        split(&v0, &v2); split(&v1, &v3); split(&v4, &v6); split(&v5, &v7)
        split(&v0, &v4); split(&v1, &v5); split(&v2, &v6); split(&v3, &v7)
        store8(v0, target); store8(v1, target + ldt); store8(v2, target + 2 * ldt); store8(v3, target + 3 * ldt)
        store8(v4, target + 4 * ldt); store8(v5, target + 5 * ldt); store8(v6, target + 6 * ldt); store8(v7, target + 7 * ldt)
    }
}
