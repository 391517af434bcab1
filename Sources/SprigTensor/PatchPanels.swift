/// The im2col patch matrix of a convolution written straight into `DenseKernels`' panel
/// layout, so that the dense forward product packs nothing and the weight gradient reads
/// the same panels as its A operand (`DenseKernels.multiply(packedA:)`).
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

    /// Output positions per chunk, so that a chunk's panels ((C k k) x positions x batch
    /// floats) take about 256 KB and stay in the L2 cache between the products that read
    /// them: at least one position.
    public static func chunkPositions(_ g: ConvolutionGeometry, batch: Int) -> Int {
        max(1, min(g.positions, (64 << 10) / max(1, g.channels * g.kernel * g.kernel * batch)))
    }

    /// Writes the panels of output positions `positions` of input `x` ((C H W) x batch) into
    /// `panels` ((C k k) x positions.count x batch floats), with `table` from `rowTable`.
    public static func fill(_ g: ConvolutionGeometry, table: [Int32], x: Matrix, positions: Range<Int>,
                            into panels: UnsafeMutablePointer<Float>) {
        let b = x.cols, columns = g.channels * g.kernel * g.kernel, w = DenseKernels.tileColumns
        precondition(applies(batch: b) && table.count == columns * g.positions, "patch panels need whole panels")
        let X = UnsafePointer(x.data)
        table.withUnsafeBufferPointer { table in
            var panel = panels
            for p in positions {
                let rows = table.baseAddress! + p * columns
                var n0 = 0
                while n0 < b {
                    for column in 0..<columns {
                        let r = Int(rows[column])
                        let target = panel + column * w
                        if r < 0 {
                            DenseKernels.store8(SIMD8<Float>(), target)
                            DenseKernels.store8(SIMD8<Float>(), target + 8)
                        } else {
                            let source = X + r * b + n0
                            DenseKernels.store8(DenseKernels.load8(source), target)
                            DenseKernels.store8(DenseKernels.load8(source + 8), target + 8)
                        }
                    }
                    panel += columns * w
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
