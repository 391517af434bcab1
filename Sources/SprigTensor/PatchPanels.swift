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
    /// Columns per panel: batches of a multiple of this fill whole panels.
    public static let panelWidth = DenseKernels.tileColumns

    /// True when batches of `batch` examples fill whole panels.
    public static func applies(batch: Int) -> Bool { batch > 0 && batch % panelWidth == 0 }

    /// The input row of patch row `column` at every position: `table[p * (C k k) + column]`,
    /// -1 in the padding (the order `rowAddresses` reads it in).
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

    /// For the input gradient of a stride-1 convolution as a convolution of the upstream
    /// gradient (the transposed convolution): the row of `dY` ((O positions') x batch, rows
    /// (o, y', x')) that inner index (o, ky, kx) reads at input position (y, x), that is
    /// output position (y + pad - ky, x + pad - kx), or -1 outside the output map:
    /// `table[(y W + x) (O k k) + (o k + ky) k + kx]`.
    public static func transposedRowTable(_ g: ConvolutionGeometry, outputChannels: Int) -> [Int32] {
        precondition(g.stride == 1, "the transposed convolution of a stride-1 convolution")
        let k = g.kernel, inner = outputChannels * k * k
        var table = [Int32](repeating: -1, count: g.height * g.width * inner)
        for y in 0..<g.height {
            for x in 0..<g.width {
                let q = y * g.width + x
                for o in 0..<outputChannels {
                    for ky in 0..<k {
                        let oy = y + g.padding - ky
                        guard oy >= 0 && oy < g.outputHeight else { continue }
                        for kx in 0..<k {
                            let ox = x + g.padding - kx
                            guard ox >= 0 && ox < g.outputWidth else { continue }
                            table[q * inner + (o * k + ky) * k + kx] = Int32(o * g.positions + oy * g.outputWidth + ox)
                        }
                    }
                }
            }
        }
        return table
    }

    /// Positions per chunk when each position has `rowsPerPosition` rows, so that a chunk's
    /// patch gradient (`rowsPerPosition` x positions x batch floats, for col2im) takes about
    /// 256 KB and stays in the L2 cache between its product and col2im; or, `addresses`, so
    /// that a chunk's panel-row addresses take about 256 KB (a chunk's products stream their
    /// A operand once per chunk, so chunks of addresses are as long as that allows). At least
    /// one position.
    public static func chunkPositions(rowsPerPosition: Int, positions: Int, batch: Int, addresses: Bool = false) -> Int {
        let perPosition = addresses ? rowsPerPosition * max(1, batch / DenseKernels.tileColumns) * 8 : rowsPerPosition * batch * 4
        return max(1, min(positions, (256 << 10) / max(1, perPosition)))
    }

    /// The addresses of a patch matrix's panel rows over positions `positions`: panel after
    /// panel (one position and 16 examples), row after row, the 16 floats
    /// `source[r, n0 ..< n0 + 16]` of the row r that `table[p rowsPerPosition + row]` names,
    /// or `zeros` (16 of them) where it is -1. With `rowTable` and the input as the source,
    /// that is the im2col patch matrix; with `transposedRowTable` and `dY`, the transposed
    /// convolution's. Written into `rows` (rowsPerPosition x positions.count x batch / 16
    /// addresses), they are the operand `DenseKernels.multiply(bRows:)` and
    /// `multiply(aRows:)` read.
    public static func rowAddresses(table: [Int32], rowsPerPosition: Int, source: Matrix, positions: Range<Int>,
                                    zeros: UnsafePointer<Float>, into rows: UnsafeMutablePointer<UnsafePointer<Float>>) {
        let b = source.cols, w = DenseKernels.tileColumns
        precondition(applies(batch: b) && table.count >= positions.upperBound * rowsPerPosition, "patch panels need whole panels")
        let X = UnsafePointer(source.data)
        table.withUnsafeBufferPointer { table in
            var out = rows
            for p in positions {
                let sourceRows = table.baseAddress! + p * rowsPerPosition
                var n0 = 0
                while n0 < b {
                    for row in 0..<rowsPerPosition {
                        let r = Int(sourceRows[row])
                        out[row] = r < 0 ? zeros : X + r * b + n0
                    }
                    out += rowsPerPosition
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
