/// The register tiles of `DenseKernels`: a 6 x 16 tile of C in twelve SIMD8 registers for
/// plain products, a 3 x 16 half tile in six for segment sums (two side by side), and the
/// rows of A each one reads.
extension DenseKernels {
    /// The sparse kernels' unaligned SIMD8 load and store, by the names the tiles use.
    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { SparseKernels.load8(p) }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) { SparseKernels.store8(v, p) }

    /// Three rows of A (a half tile): row 0 at `first`, rows 1 and 2 at `first + o1`,
    /// `first + o2` (rows past the matrix read its last row), the next inner index `step`
    /// further.
    struct HalfRows {
        let first: UnsafePointer<Float>
        let o1, o2, step: Int

        @inline(__always)
        init(_ a: Operand, rows: Range<Int>) {
            let last = rows.count - 1, s = a.rowStride
            first = a.base + rows.lowerBound * s
            o1 = min(1, last) * s
            o2 = min(2, last) * s
            step = a.columnStride
        }
    }

    /// A 3 x 16 tile of C in six registers: two fit beside each other, so a pair of
    /// segments is summed in registers.
    struct HalfTile {
        static let size = 3 * DenseKernels.tileColumns
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()

        /// One inner index: rows at `a`, `a + o1`, `a + o2` times the panel row at `b`.
        @inline(__always)
        mutating func accumulate(_ a: UnsafePointer<Float>, _ o1: Int, _ o2: Int, _ b: UnsafePointer<Float>) {
            let b0 = load8(b), b1 = load8(b + 8)
            var w = SIMD8<Float>(repeating: a[0])
            c00 = c00.addingProduct(w, b0); c01 = c01.addingProduct(w, b1)
            w = SIMD8<Float>(repeating: a[o1])
            c10 = c10.addingProduct(w, b0); c11 = c11.addingProduct(w, b1)
            w = SIMD8<Float>(repeating: a[o2])
            c20 = c20.addingProduct(w, b0); c21 = c21.addingProduct(w, b1)
        }

        @inline(__always)
        mutating func add(_ o: HalfTile) {
            c00 += o.c00; c01 += o.c01; c10 += o.c10; c11 += o.c11; c20 += o.c20; c21 += o.c21
        }

        /// Adds the half tile stored at `p` (row stride 16).
        @inline(__always)
        mutating func add(_ p: UnsafePointer<Float>) {
            let w = DenseKernels.tileColumns
            c00 += load8(p); c01 += load8(p + 8)
            c10 += load8(p + w); c11 += load8(p + w + 8)
            c20 += load8(p + 2 * w); c21 += load8(p + 2 * w + 8)
        }

        /// Stores at `p` with row stride 16.
        @inline(__always)
        func store(_ p: UnsafeMutablePointer<Float>) {
            let w = DenseKernels.tileColumns
            store8(c00, p); store8(c01, p + 8)
            store8(c10, p + w); store8(c11, p + w + 8)
            store8(c20, p + 2 * w); store8(c21, p + 2 * w + 8)
        }

        /// Stores the top-left `rows` x `columns` into C (through `scratch` at the edges).
        @inline(__always)
        func store(_ c: UnsafeMutablePointer<Float>, _ ldc: Int, rows: Int, columns: Int, scratch: UnsafeMutablePointer<Float>) {
            if rows == 3 && columns == DenseKernels.tileColumns {
                store8(c00, c); store8(c01, c + 8)
                store8(c10, c + ldc); store8(c11, c + ldc + 8)
                store8(c20, c + 2 * ldc); store8(c21, c + 2 * ldc + 8)
                return
            }
            store(scratch)
            for r in 0..<rows { (c + r * ldc).update(from: scratch + r * DenseKernels.tileColumns, count: columns) }
        }
    }

    /// The rows of A under one tile: row 0 at `first`, row r at `first + o_r` (rows past
    /// the matrix read its last row, whose results are not stored), the next inner index
    /// `step` further.
    struct TileRows {
        let first: UnsafePointer<Float>
        let o1, o2, o3, o4, o5, step: Int

        @inline(__always)
        init(_ a: Operand, rows: Range<Int>) {
            let last = rows.count - 1, s = a.rowStride
            first = a.base + rows.lowerBound * s
            o1 = min(1, last) * s; o2 = min(2, last) * s; o3 = min(3, last) * s
            o4 = min(4, last) * s; o5 = min(5, last) * s
            step = a.columnStride
        }

    }

    /// A 6 x 16 tile of C in twelve registers (two SIMD8 per row).
    struct Tile {
        var c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51: SIMD8<Float>

        /// Row r starts at `initial[r]` (zero for rows past `rows` or without initial values).
        @inline(__always)
        init(initial: UnsafePointer<Float>?, rows: Int) {
            @inline(__always) func start(_ r: Int) -> SIMD8<Float> {
                guard let initial, r < rows else { return SIMD8<Float>() }
                return SIMD8<Float>(repeating: initial[r])
            }
            c00 = start(0); c01 = c00
            c10 = start(1); c11 = c10
            c20 = start(2); c21 = c20
            c30 = start(3); c31 = c30
            c40 = start(4); c41 = c40
            c50 = start(5); c51 = c50
        }

        /// The partial sums stored in C (through `scratch` at the edges; the rows and columns
        /// past them hold whatever `scratch` held and are never stored).
        @inline(__always)
        init(loading c: UnsafePointer<Float>, _ ldc: Int, rows: Int, columns: Int, full: Bool, scratch: UnsafeMutablePointer<Float>) {
            var p = c, ld = ldc
            if !full {
                for r in 0..<rows { (scratch + r * DenseKernels.tileColumns).update(from: c + r * ldc, count: columns) }
                p = UnsafePointer(scratch)
                ld = DenseKernels.tileColumns
            }
            c00 = load8(p); c01 = load8(p + 8)
            c10 = load8(p + ld); c11 = load8(p + ld + 8)
            c20 = load8(p + 2 * ld); c21 = load8(p + 2 * ld + 8)
            c30 = load8(p + 3 * ld); c31 = load8(p + 3 * ld + 8)
            c40 = load8(p + 4 * ld); c41 = load8(p + 4 * ld + 8)
            c50 = load8(p + 5 * ld); c51 = load8(p + 5 * ld + 8)
        }

        /// One inner index: row r of the tile gets `a_r` times the B row `(b0, b1)`, one
        /// fused multiply-add per element.
        @inline(__always)
        mutating func multiplyAdd(_ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ a4: Float, _ a5: Float,
                                  _ b0: SIMD8<Float>, _ b1: SIMD8<Float>) {
            var w = SIMD8<Float>(repeating: a0)
            c00 = c00.addingProduct(w, b0); c01 = c01.addingProduct(w, b1)
            w = SIMD8<Float>(repeating: a1)
            c10 = c10.addingProduct(w, b0); c11 = c11.addingProduct(w, b1)
            w = SIMD8<Float>(repeating: a2)
            c20 = c20.addingProduct(w, b0); c21 = c21.addingProduct(w, b1)
            w = SIMD8<Float>(repeating: a3)
            c30 = c30.addingProduct(w, b0); c31 = c31.addingProduct(w, b1)
            w = SIMD8<Float>(repeating: a4)
            c40 = c40.addingProduct(w, b0); c41 = c41.addingProduct(w, b1)
            w = SIMD8<Float>(repeating: a5)
            c50 = c50.addingProduct(w, b0); c51 = c51.addingProduct(w, b1)
        }

        /// Adds `A(rows, inner) B(inner, 0..<16)`, one fused multiply-add per inner index in
        /// order.
        @inline(__always)
        mutating func accumulate(_ a: TileRows, inner: Range<Int>, panel: UnsafePointer<Float>) {
            var ap = a.first + inner.lowerBound &* a.step
            var bp = panel + inner.lowerBound &* DenseKernels.tileColumns
            let (o1, o2, o3, o4, o5, step) = (a.o1, a.o2, a.o3, a.o4, a.o5, a.step)
            for _ in inner {
                let b0 = load8(bp), b1 = load8(bp + 8)
                multiplyAdd(ap[0], ap[o1], ap[o2], ap[o3], ap[o4], ap[o5], b0, b1)
                ap += step
                bp += DenseKernels.tileColumns
            }
        }

        /// Adds `A(rows, inner) B(inner, 0..<16)` with B's row l at `bRows[l]` (16 floats),
        /// one fused multiply-add per inner index in order.
        @inline(__always)
        mutating func accumulate(_ a: TileRows, inner: Range<Int>, bRows: UnsafePointer<UnsafePointer<Float>>) {
            var ap = a.first + inner.lowerBound &* a.step
            let (o1, o2, o3, o4, o5, step) = (a.o1, a.o2, a.o3, a.o4, a.o5, a.step)
            for l in inner {
                let bp = bRows[l]
                let b0 = load8(bp), b1 = load8(bp + 8)
                multiplyAdd(ap[0], ap[o1], ap[o2], ap[o3], ap[o4], ap[o5], b0, b1)
                ap += step
            }
        }

        /// Adds the product over 16 inner indices whose A rows are 16 floats each at
        /// `aRows[0 ..< rows]` (rows past them repeat the last) and whose B rows are the
        /// panel's, one fused multiply-add per inner index in order.
        @inline(__always)
        mutating func accumulate(aRows: UnsafePointer<UnsafePointer<Float>>, rows: Int, panel: UnsafePointer<Float>) {
            let last = rows - 1
            let a0 = aRows[0], a1 = aRows[min(1, last)], a2 = aRows[min(2, last)]
            let a3 = aRows[min(3, last)], a4 = aRows[min(4, last)], a5 = aRows[min(5, last)]
            var bp = panel
            for l in 0..<DenseKernels.tileColumns {
                let b0 = load8(bp), b1 = load8(bp + 8)
                multiplyAdd(a0[l], a1[l], a2[l], a3[l], a4[l], a5[l], b0, b1)
                bp += DenseKernels.tileColumns
            }
        }

        @inline(__always)
        func store(_ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
            store8(c00, c); store8(c01, c + 8)
            store8(c10, c + ldc); store8(c11, c + ldc + 8)
            store8(c20, c + 2 * ldc); store8(c21, c + 2 * ldc + 8)
            store8(c30, c + 3 * ldc); store8(c31, c + 3 * ldc + 8)
            store8(c40, c + 4 * ldc); store8(c41, c + 4 * ldc + 8)
            store8(c50, c + 5 * ldc); store8(c51, c + 5 * ldc + 8)
        }

        /// Stores the top-left `rows` x `columns` of the tile, through `scratch`.
        func storeEdge(_ c: UnsafeMutablePointer<Float>, _ ldc: Int, rows: Int, columns: Int, scratch: UnsafeMutablePointer<Float>) {
            store(scratch, DenseKernels.tileColumns)
            for r in 0..<rows { (c + r * ldc).update(from: scratch + r * DenseKernels.tileColumns, count: columns) }
        }
    }
}
