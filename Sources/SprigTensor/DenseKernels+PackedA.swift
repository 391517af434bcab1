/// A product whose A operand is already in `DenseKernels`' panel layout: the im2col patch
/// matrix of a convolution written straight into panels (`PatchPanels`) serves the forward
/// product as B and the weight gradient as A, and is never packed or transposed.
extension DenseKernels {
    /// `C = A B` with A (m x k) in panels of 16 inner indices: `A(i, l)` at
    /// `packedA[(l / 16) m 16 + i 16 + l % 16]`, `k` a multiple of 16. Every element is the
    /// chain of `multiply(m:n:k:a:b:...)` from zero, one fused multiply-add per inner index
    /// in order (a tile's partial sums go to C between blocks of the inner dimension and
    /// come back unchanged), so it has the bits of the product on the unpacked A.
    ///
    /// With `continuing`, the chains continue from the values in C instead of zero: a
    /// product over the inner dimension in consecutive pieces, each piece's call continuing
    /// the last, gives every element the chain of the whole product (a convolution's weight
    /// gradient over chunks of positions).
    ///
    /// A convolution's weight gradient computed as its transpose, `dW^T = P dY^T`: each
    /// element `sum_j P(c, j) dY(o, j)` is the same chain of products as `dY P^T`'s.
    public static func multiply(m: Int, n: Int, k: Int, packedA: UnsafePointer<Float>, b: Operand, continuing: Bool = false,
                                c: UnsafeMutablePointer<Float>, ldc: Int, workspace: DenseWorkspace) {
        precondition(k % tileColumns == 0, "packed A holds whole 16-index panels")
        guard m > 0, n > 0, k > 0 || !continuing else { return }
        guard k > 0 else {
            for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
            return
        }
        let tiles = workspace.tiles
        let panels = (n + tileColumns - 1) / tileColumns
        let packed = workspace.panel(floats: k * tileColumns * panels)
        for p in 0..<panels {
            pack(b, rows: k, columns: (p * tileColumns)..<min(p * tileColumns + tileColumns, n), into: packed + p * k * tileColumns)
        }
        var kb = 0
        repeat {
            let end = min(kb + innerBlock, k)
            for p in 0..<panels {
                let j0 = p * tileColumns, width = min(tileColumns, n - j0)
                let panel = UnsafePointer(packed + p * k * tileColumns)
                var i0 = 0
                while i0 < m {
                    let height = min(tileRows, m - i0)
                    let full = height == tileRows && width == tileColumns
                    let target = c + i0 * ldc + j0
                    var t = kb == 0 && !continuing ? Tile(initial: nil, rows: height)
                        : Tile(loading: target, ldc, rows: height, columns: width, full: full, scratch: tiles)
                    var q = kb
                    while q < end {
                        let rows = TileRows(first: packedA + (q / tileColumns) * m * tileColumns + i0 * tileColumns,
                                            rowStride: tileColumns, rows: height, step: 1)
                        t.accumulate(rows, inner: 0..<tileColumns, panel: panel + q * tileColumns)
                        q += tileColumns
                    }
                    if full { t.store(target, ldc) } else { t.storeEdge(target, ldc, rows: height, columns: width, scratch: tiles) }
                    i0 += tileRows
                }
            }
            kb = end
        } while kb < k
    }
}
