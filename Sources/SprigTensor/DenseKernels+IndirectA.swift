/// A product whose A operand is given by the addresses of its rows' runs of 16 inner
/// indices: the im2col patch matrix of a convolution (`PatchPanels`) serves the forward
/// product as B and the weight gradient as A through the same addresses, and is never
/// written out, packed or transposed.
extension DenseKernels {
    /// `C = A B` with A (m x k) by runs of 16 inner indices: `A(i, l)` is
    /// `aRows[(l / 16) m + i][l % 16]`, `k` a multiple of 16. Every element is the
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
    public static func multiply(m: Int, n: Int, k: Int, aRows: UnsafePointer<UnsafePointer<Float>>, b: Operand, continuing: Bool = false,
                                c: UnsafeMutablePointer<Float>, ldc: Int, workspace: DenseWorkspace) {
        precondition(k % tileColumns == 0, "indirect A holds whole runs of 16 inner indices")
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
                        t.accumulate(aRows: aRows + (q / tileColumns) * m + i0, rows: height, panel: panel + q * tileColumns)
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
