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
    public static let tileColumns = 16
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
        run(m: m, n: n, k: k, a: a, b: .matrix(b), rowInitial: rowInitial, c: c, ldc: ldc, workspace: workspace)
    }

    /// `C = c0 1^T + A B` with B given by its rows' addresses, panel by panel: row l of the
    /// panel of columns `16 q ..< 16 q + 16` is the 16 floats at `bRows[q k + l]` (an
    /// indirect operand, as the im2col patch matrix of a convolution is: each row of a panel
    /// is a run of one input row, or of zeros), so that nothing is copied or packed; the same
    /// bits as `multiply(m:n:k:a:b:...)` on the B these rows make. `n` is a multiple of 16.
    public static func multiply(m: Int, n: Int, k: Int, a: Operand, bRows: UnsafePointer<UnsafePointer<Float>>,
                                rowInitial: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int, workspace: DenseWorkspace) {
        precondition(n % tileColumns == 0 && k > 0, "indirect panels hold whole 16-column panels of at least one row")
        run(m: m, n: n, k: k, a: a, b: .rows(bRows), rowInitial: rowInitial, c: c, ldc: ldc, workspace: workspace)
    }

    /// `C = T(0, S)` over `segments` equal ranges of the inner dimension (`k` divisible by
    /// `segments`), each range summed from zero, the ranges added as `PairwiseTree` adds leaves.
    public static func multiply(m: Int, n: Int, k: Int, segments: Int, a: Operand, b: Operand,
                                c: UnsafeMutablePointer<Float>, ldc: Int, workspace: DenseWorkspace) {
        precondition(segments >= 1 && k % segments == 0, "\(k) is not \(segments) equal segments")
        guard segments == 1 else {
            if m > 0 && n > 0 { segmentProduct(m: m, n: n, k: k, a: a, b: b, segments: segments, c: c, ldc: ldc, workspace: workspace) }
            return
        }
        run(m: m, n: n, k: k, a: a, b: .matrix(b), rowInitial: nil, c: c, ldc: ldc, workspace: workspace)
    }

    /// The right-hand operand of `run`: a matrix, packed panel by panel, or the addresses of
    /// its panels' rows, read where they lie.
    private enum RightOperand {
        case matrix(Operand)
        case rows(UnsafePointer<UnsafePointer<Float>>)
    }

    /// Blocking of a plain product: columns in chunks of `chunkColumns` (B's chunk packed
    /// once), the inner dimension in blocks of `innerBlock` (a tile's partial sums go to C
    /// and come back: a float stored and loaded is the same float, so the chain of each
    /// element is unchanged), rows in blocks of `rowBlock`, whose rows of A stay in cache
    /// while every panel of the chunk passes.
    static let chunkColumns = 512
    static let innerBlock = 256
    static let rowBlock = 96

    private static func run(m: Int, n: Int, k: Int, a: Operand, b: RightOperand, rowInitial: UnsafePointer<Float>?,
                            c: UnsafeMutablePointer<Float>, ldc: Int, workspace: DenseWorkspace) {
        guard m > 0, n > 0 else { return }
        let tiles = workspace.tiles
        var jc = 0
        while jc < n {
            let chunk = min(chunkColumns, n - jc)
            let panels = (chunk + tileColumns - 1) / tileColumns
            var packed: UnsafeMutablePointer<Float>?
            if case .matrix(let matrix) = b {
                let buffer = workspace.panel(floats: max(k, 1) * tileColumns * panels)
                for p in 0..<panels {
                    let j0 = jc + p * tileColumns
                    pack(matrix, rows: k, columns: j0..<min(j0 + tileColumns, jc + chunk), into: buffer + p * k * tileColumns)
                }
                packed = buffer
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
                        var i0 = ib
                        while i0 < rowEnd {
                            let height = min(tileRows, rowEnd - i0)
                            let full = height == tileRows && width == tileColumns
                            let target = c + i0 * ldc + j0
                            var t = kb == 0 ? Tile(initial: rowInitial.map { $0 + i0 }, rows: height)
                                : Tile(loading: target, ldc, rows: height, columns: width, full: full, scratch: tiles)
                            switch b {
                            case .rows(let rows):
                                t.accumulate(TileRows(a, rows: i0..<(i0 + height)), inner: inner, bRows: rows + (jc / tileColumns + p) * k)
                            case .matrix:
                                t.accumulate(TileRows(a, rows: i0..<(i0 + height)), inner: inner, panel: packed! + p * k * tileColumns)
                            }
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
}
