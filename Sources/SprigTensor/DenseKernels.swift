/// Sprig's dense matrix product, with one fixed order of operations per output element:
///
///     C[i, j] = fma(A(i, K-1), B(K-1, j), ... fma(A(i, 1), B(1, j), fma(A(i, 0), B(0, j), c0_i)))
///
/// the fused multiply-adds of the inner dimension in order, from the row's initial value
/// `c0_i` (a bias, or zero). Nothing else enters an element: its bits do not depend on the
/// matrix sizes, on which tile holds it, or on the other columns. That is what lets a
/// training step multiply the columns of all its local micro-batches at once and still get
/// each micro-batch's bits (`TrainingStep`), which an optimised BLAS does not promise:
/// OpenBLAS's sgemm sums an element differently in its full tiles and in its edge tiles, so
/// the same column changes bits with the number of columns beside it.
///
/// With `segments` (the weight gradient `dW = dY X^T` over several micro-batches, whose
/// examples are the inner dimension), the inner dimension is `segments` equal ranges, each
/// summed as above from zero, and the range sums are added in the pairwise tree of
/// `PairwiseTree`, the order in which `GradientTree` adds micro-batches:
///
///     C[i, j] = T(0, S),  T(s, s+1) = sum over range s,  T(lo, hi) = T(lo, mid) + T(mid, hi)
///
/// Blocking (Goto & van de Geijn, "Anatomy of high-performance matrix multiplication",
/// ACM TOMS 2008): B is packed into panels of 16 columns (zero-padded), a 6 x 16 tile of C
/// lives in twelve SIMD8 registers while a block of the inner dimension streams through,
/// and rows of A are taken in blocks that stay in cache while every panel passes.
public enum DenseKernels {
    /// Rows and columns of the register tile.
    static let tileRows = 6
    static let tileColumns = 16
    static let tileSize = tileRows * tileColumns

    /// A matrix operand addressed by strides: element (r, c) at `base[r * rowStride + c * columnStride]`.
    public struct Operand {
        public var base: UnsafePointer<Float>
        public var rowStride: Int
        public var columnStride: Int

        public init(_ base: UnsafePointer<Float>, rowStride: Int, columnStride: Int = 1) {
            self.base = base
            self.rowStride = rowStride
            self.columnStride = columnStride
        }

        /// The transpose, without moving data.
        public var transposed: Operand { Operand(base, rowStride: columnStride, columnStride: rowStride) }
    }

    /// `C = c0 1^T + A B` (`A` m x k, `B` k x n, `C` row-major with row stride `ldc`), every
    /// element summed as in the type's comment from `rowInitial[i]` (zero when nil).
    /// `workspace` holds the packed panel between calls.
    public static func multiply(m: Int, n: Int, k: Int, a: Operand, b: Operand, rowInitial: UnsafePointer<Float>?,
                                c: UnsafeMutablePointer<Float>, ldc: Int, workspace: DenseWorkspace) {
        run(m: m, n: n, k: k, a: a, b: b, rowInitial: rowInitial, segments: 1, c: c, ldc: ldc, workspace: workspace)
    }

    /// `C = T(0, S)` over `segments` equal ranges of the inner dimension (`k` divisible by
    /// `segments`), each range summed from zero, the ranges added as `PairwiseTree` adds leaves.
    public static func multiply(m: Int, n: Int, k: Int, segments: Int, a: Operand, b: Operand,
                                c: UnsafeMutablePointer<Float>, ldc: Int, workspace: DenseWorkspace) {
        precondition(segments >= 1 && k % segments == 0, "\(k) is not \(segments) equal segments")
        run(m: m, n: n, k: k, a: a, b: b, rowInitial: nil, segments: segments, c: c, ldc: ldc, workspace: workspace)
    }

    /// Blocking of a plain product: columns in chunks of `chunkColumns` (B's chunk packed
    /// once), the inner dimension in blocks of `innerBlock` (a tile's partial sums go to C
    /// and come back: a float stored and loaded is the same float, so the chain of each
    /// element is unchanged), rows in blocks of `rowBlock`, whose rows of A stay in cache
    /// while every panel of the chunk passes.
    static let chunkColumns = 512
    static let innerBlock = 256
    static let rowBlock = 96

    private static func run(m: Int, n: Int, k: Int, a: Operand, b: Operand, rowInitial: UnsafePointer<Float>?, segments: Int,
                            c: UnsafeMutablePointer<Float>, ldc: Int, workspace: DenseWorkspace) {
        guard m > 0, n > 0 else { return }
        guard segments == 1 else {
            segmentProduct(m: m, n: n, k: k, a: a, b: b, segments: segments, c: c, ldc: ldc, workspace: workspace)
            return
        }
        let tiles = workspace.tiles
        var jc = 0
        while jc < n {
            let chunk = min(chunkColumns, n - jc)
            let panels = (chunk + tileColumns - 1) / tileColumns
            let packed = workspace.panel(floats: max(k, 1) * tileColumns * panels)
            for p in 0..<panels {
                let j0 = jc + p * tileColumns
                pack(b, rows: k, columns: j0..<min(j0 + tileColumns, jc + chunk), into: packed + p * k * tileColumns)
            }
            var kb = 0
            repeat {
                let inner = kb..<min(kb + innerBlock, k)
                var ib = 0
                while ib < m {
                    let rowEnd = min(ib + rowBlock, m)
                    for p in 0..<panels {
                        let j0 = jc + p * tileColumns
                        let width = min(tileColumns, jc + chunk - j0)
                        let panel = packed + p * k * tileColumns
                        var i0 = ib
                        while i0 < rowEnd {
                            let height = min(tileRows, rowEnd - i0)
                            let full = height == tileRows && width == tileColumns
                            let target = c + i0 * ldc + j0
                            var t = kb == 0 ? Tile(initial: rowInitial.map { $0 + i0 }, rows: height)
                                : Tile(loading: target, ldc, rows: height, columns: width, full: full, scratch: tiles)
                            t.accumulate(TileRows(a, rows: i0..<(i0 + height)), inner: inner, panel: panel)
                            if full { t.store(target, ldc) } else { t.storeEdge(target, ldc, rows: height, columns: width, scratch: tiles) }
                            i0 += tileRows
                        }
                    }
                    ib = rowEnd
                }
                kb += innerBlock
            } while kb < k
            jc += chunk
        }
    }

    /// The product with segments (`multiply(m:n:k:segments:...)`): panel after panel, each
    /// tile's segment sums in registers.
    private static func segmentProduct(m: Int, n: Int, k: Int, a: Operand, b: Operand, segments: Int,
                                       c: UnsafeMutablePointer<Float>, ldc: Int, workspace: DenseWorkspace) {
        let panel = workspace.panel(floats: max(k, 1) * tileColumns)
        let tiles = workspace.tiles
        let levels = workspace.levels
        let segmentLength = k / segments
        var j0 = 0
        while j0 < n {
            let width = min(tileColumns, n - j0)
            pack(b, rows: k, columns: j0..<(j0 + width), into: panel)
            var i0 = 0
            while i0 < m {
                // Two halves of three rows, each summing two segments at a time.
                let height = min(tileRows, m - i0)
                var top = 0
                while top < height {
                    let rows = min(3, height - top)
                    let t = segmentSum(HalfRows(a, rows: (i0 + top)..<(i0 + top + rows)), segments: segments, length: segmentLength,
                                       panel: panel, tiles: tiles, levels: levels)
                    t.store(c + (i0 + top) * ldc + j0, ldc, rows: rows, columns: width, scratch: tiles)
                    top += 3
                }
                i0 += tileRows
            }
            j0 += tileColumns
        }
    }

    /// Three rows' sum over `segments` ranges of `length` inner indices, each from zero,
    /// added as `PairwiseTree` adds leaves (a binary counter, then the rest right to left).
    /// Segments go two at a time, each pair in its own registers and then added (the pair's
    /// subtree); the newest sum stays in registers, each completed subtree waits in `tiles`
    /// with its level in `levels`.
    @inline(__always)
    private static func segmentSum(_ rows: HalfRows, segments: Int, length: Int, panel: UnsafePointer<Float>,
                                   tiles: UnsafeMutablePointer<Float>, levels: UnsafeMutablePointer<Int>) -> HalfTile {
        var depth = 0
        var s = 0
        while true {
            var t = HalfTile()
            var level = 0
            if s &+ 1 < segments {
                var u = HalfTile()
                accumulatePair(&t, &u, rows, first: s &* length, second: (s &+ 1) &* length, length: length, panel: panel)
                t.add(u)
                level = 1
                s &+= 2
            } else {
                accumulatePair(&t, nil, rows, first: s &* length, second: 0, length: length, panel: panel)
                s &+= 1
            }
            while depth > 0 && levels[depth &- 1] == level {
                depth &-= 1
                t.add(tiles + depth &* HalfTile.size) // the subtree on the left plus this one (addition commutes)
                level &+= 1
            }
            if s == segments {
                while depth > 0 {
                    depth &-= 1
                    t.add(tiles + depth &* HalfTile.size)
                }
                return t
            }
            t.store(tiles + depth &* HalfTile.size)
            levels[depth] = level
            depth &+= 1
        }
    }

    /// Adds to `x` the product over the `length` inner indices from `first`, and to `y` (when
    /// given) the one from `second`, each index one fused multiply-add in order.
    @inline(__always)
    private static func accumulatePair(_ x: inout HalfTile, _ y: UnsafeMutablePointer<HalfTile>?, _ rows: HalfRows,
                                       first: Int, second: Int, length: Int, panel: UnsafePointer<Float>) {
        let (o1, o2, step) = (rows.o1, rows.o2, rows.step)
        var ax = rows.first + first &* step, bx = panel + first &* tileColumns
        guard let y else {
            for _ in 0..<length {
                x.accumulate(ax, o1, o2, bx)
                ax += step
                bx += tileColumns
            }
            return
        }
        var ay = rows.first + second &* step, by = panel + second &* tileColumns
        var v = y.pointee
        for _ in 0..<length {
            x.accumulate(ax, o1, o2, bx)
            v.accumulate(ay, o1, o2, by)
            ax += step
            bx += tileColumns
            ay += step
            by += tileColumns
        }
        y.pointee = v
    }

    /// Copies columns `columns` of B's first `rows` rows into `panel` (`rows` x 16, zeros
    /// beyond the matrix's last column).
    private static func pack(_ b: Operand, rows: Int, columns: Range<Int>, into panel: UnsafeMutablePointer<Float>) {
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

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

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

        /// Adds `A(rows, inner) B(inner, 0..<16)`, one fused multiply-add per inner index in
        /// order.
        @inline(__always)
        mutating func accumulate(_ a: TileRows, inner: Range<Int>, panel: UnsafePointer<Float>) {
            var ap = a.first + inner.lowerBound &* a.step
            var bp = panel + inner.lowerBound &* DenseKernels.tileColumns
            let (o1, o2, o3, o4, o5, step) = (a.o1, a.o2, a.o3, a.o4, a.o5, a.step)
            for _ in inner {
                let b0 = load8(bp), b1 = load8(bp + 8)
                var w = SIMD8<Float>(repeating: ap[0])
                c00 = c00.addingProduct(w, b0); c01 = c01.addingProduct(w, b1)
                w = SIMD8<Float>(repeating: ap[o1])
                c10 = c10.addingProduct(w, b0); c11 = c11.addingProduct(w, b1)
                w = SIMD8<Float>(repeating: ap[o2])
                c20 = c20.addingProduct(w, b0); c21 = c21.addingProduct(w, b1)
                w = SIMD8<Float>(repeating: ap[o3])
                c30 = c30.addingProduct(w, b0); c31 = c31.addingProduct(w, b1)
                w = SIMD8<Float>(repeating: ap[o4])
                c40 = c40.addingProduct(w, b0); c41 = c41.addingProduct(w, b1)
                w = SIMD8<Float>(repeating: ap[o5])
                c50 = c50.addingProduct(w, b0); c51 = c51.addingProduct(w, b1)
                ap += step
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

/// The memory `DenseKernels` works in: the packed panel of B and the tiles of the segment
/// sums, kept between calls by the layer that owns it (one per layer, never shared between
/// threads).
public final class DenseWorkspace {
    private var panelBuffer: UnsafeMutablePointer<Float>
    private var panelCapacity: Int
    /// Tiles of the subtrees a segment sum keeps waiting (at most one per level, so one per
    /// bit of an Int), the first also the scratch of edge tiles.
    let tiles: UnsafeMutablePointer<Float>
    /// Their levels.
    let levels = UnsafeMutablePointer<Int>.allocate(capacity: Int.bitWidth)

    public init() {
        panelCapacity = 16
        panelBuffer = DenseWorkspace.allocate(panelCapacity)
        tiles = DenseWorkspace.allocate(Int.bitWidth * DenseKernels.tileSize)
    }

    deinit {
        panelBuffer.deallocate()
        tiles.deallocate()
        levels.deallocate()
    }

    private static func allocate(_ floats: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: floats * MemoryLayout<Float>.stride, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: floats)
    }

    /// Bytes held.
    public var bytes: Int { (panelCapacity + Int.bitWidth * DenseKernels.tileSize) * 4 + Int.bitWidth * 8 }

    func panel(floats: Int) -> UnsafeMutablePointer<Float> {
        if floats > panelCapacity {
            panelBuffer.deallocate()
            panelCapacity = floats
            panelBuffer = DenseWorkspace.allocate(floats)
        }
        return panelBuffer
    }
}
