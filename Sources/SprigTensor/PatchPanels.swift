/// The im2col patch matrix of a convolution as `DenseKernels`' panels by address: each
/// panel row is a run of 16 values of one input row (or zeros), so the dense forward product
/// (`DenseKernels.multiply(bRows:)`) and the weight gradient (`multiply(aRows:)`) read the
/// input where it lies, and the patch matrix is never written.
///
/// The patch matrix `P` is (C k k) x (positions x batch), rows (c, ky, kx), columns
/// (y', x', n); `P[(c, ky, kx), (p, n)]` is the input value (c, y' s + ky - pad,
/// x' s + kx - pad) of example n, or 0 in the padding. Panel q holds columns 16q ..< 16q + 16,
/// each row 16 consecutive floats; with a batch that is a multiple of 16, that is one
/// position and 16 examples, a contiguous run of an input row.
public enum PatchPanels {
    /// True when batches of `batch` examples fill whole panels.
    public static func applies(batch: Int) -> Bool { batch > 0 && batch % DenseKernels.tileColumns == 0 }

    /// The input row of patch row `column` at every position: `table[p * (C k k) + column]`,
    /// -1 in the padding (the order `fill` reads it in).
    public static func rowTable(_ g: ConvolutionGeometry) -> [Int32] {
        let columns = g.channels * g.kernel * g.kernel
        var table = [Int32](repeating: -1, count: columns * g.positions)
        for oy in 0..<g.outputHeight {
            for ox in 0..<g.outputWidth {
                let p = oy * g.outputWidth + ox
                for column in 0..<columns { table[p * columns + column] = Int32(g.inputRow(column: column, oy: oy, ox: ox)) }
            }
        }
        return table
    }

    /// Output positions per chunk, so that a chunk's patch gradient ((C k k) x positions x
    /// batch floats) takes about 256 KB and stays in the L2 cache between its product and
    /// col2im: at least one position.
    public static func chunkPositions(_ g: ConvolutionGeometry, batch: Int) -> Int {
        max(1, min(g.positions, (64 << 10) / max(1, g.channels * g.kernel * g.kernel * batch)))
    }

    /// The addresses of the patch matrix's panel rows over output positions `positions` of
    /// input `x` ((C H W) x batch): panel after panel (one position and 16 examples), patch
    /// row after patch row (c, ky, kx), the 16 floats `x[r, n0 ..< n0 + 16]` of input row r,
    /// or `zeros` (16 of them) in the padding; `table` from `rowTable`. Written into `rows`
    /// ((C k k) x positions.count x batch / 16 addresses), they are the operand
    /// `DenseKernels.multiply(bRows:)` and `multiply(aRows:)` read.
    public static func rowAddresses(_ g: ConvolutionGeometry, table: [Int32], x: Matrix, positions: Range<Int>,
                                    zeros: UnsafePointer<Float>, into rows: UnsafeMutablePointer<UnsafePointer<Float>>) {
        let b = x.cols, columns = g.channels * g.kernel * g.kernel, w = DenseKernels.tileColumns
        precondition(applies(batch: b) && table.count == columns * g.positions, "patch panels need whole panels")
        let X = UnsafePointer(x.data)
        table.withUnsafeBufferPointer { table in
            var out = rows
            for p in positions {
                let inputRows = table.baseAddress! + p * columns
                var n0 = 0
                while n0 < b {
                    for column in 0..<columns {
                        let r = Int(inputRows[column])
                        out[column] = r < 0 ? zeros : X + r * b + n0
                    }
                    out += columns
                    n0 += w
                }
            }
        }
    }

    /// The adjoint of im2col over output positions `positions`: adds the patch gradient `dp`
    /// ((C k k) x (positions.count x batch), row-major) into `dx` ((C H W) x batch), position
    /// by position, patch row by patch row (c, ky, kx); `table` from `rowTable`.
    public static func addPatchGradient(_ g: ConvolutionGeometry, table: [Int32], dp: UnsafePointer<Float>, positions: Range<Int>,
                                        into dx: Matrix) {
        let b = dx.cols, columns = g.channels * g.kernel * g.kernel, width = positions.count * b
        precondition(table.count == columns * g.positions, "a row table of this geometry")
        let DX = dx.data
        table.withUnsafeBufferPointer { table in
            for p in positions {
                let rows = table.baseAddress! + p * columns
                let offset = (p - positions.lowerBound) * b
                for column in 0..<columns {
                    let r = Int(rows[column])
                    guard r >= 0 else { continue }
                    let source = dp + column * width + offset, target = DX + r * b
                    var n = 0
                    while n + 8 <= b {
                        DenseKernels.store8(DenseKernels.load8(target + n) + DenseKernels.load8(source + n), target + n)
                        n += 8
                    }
                    while n < b { target[n] += source[n]; n += 1 }
                }
            }
        }
    }
}
