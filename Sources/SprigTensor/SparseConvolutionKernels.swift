/// The shape of a 2-D convolution over feature-major activations: input rows (c, y, x) of
/// `channels x height x width`, a `kernel x kernel` window moved by `stride` over the input
/// padded by `padding` zeros, output maps of `outputHeight x outputWidth` positions.
public struct ConvolutionGeometry: Equatable, Sendable {
    public let channels: Int, height: Int, width: Int
    public let kernel: Int, stride: Int, padding: Int
    public let outputHeight: Int, outputWidth: Int

    public init(channels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
        self.channels = channels
        self.height = height
        self.width = width
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        outputHeight = (height + 2 * padding - kernel) / stride + 1
        outputWidth = (width + 2 * padding - kernel) / stride + 1
    }

    public var positions: Int { outputHeight * outputWidth }

    /// The input row that patch row `column` = (c, ky, kx) reads at output position
    /// (oy, ox): (c, oy s + ky - pad, ox s + kx - pad), or -1 in the padding.
    @inline(__always)
    func inputRow(column: Int, oy: Int, ox: Int) -> Int {
        let kx = column % kernel, ky = (column / kernel) % kernel, c = column / (kernel * kernel)
        let iy = oy * stride + ky - padding, ix = ox * stride + kx - padding
        guard iy >= 0 && iy < height && ix >= 0 && ix < width else { return -1 }
        return (c * height + iy) * width + ix
    }
}

/// A sparse convolution's forward product and weight gradient without the im2col matrix.
///
/// With the patch matrix `P` ((C k k) x (positions x batch), columns (y', x', n)) that
/// im2col would build, a sparse convolution is `Y = W P + b` and `g_k = dY_i . P_(c_k)`
/// (`SparseKernels`). Here each patch value is read where it lies, in the input row
/// (c, y' s + ky - pad, x' s + kx - pad), or from a row of zeros in the padding, so no
/// `(C k k) x positions x batch` copy is written or read back. The arithmetic is
/// `SparseKernels`' on `P`, operation for operation (the same fused multiply-adds in the
/// same order, the same lanes, zeros included), so the results are bitwise the same; that
/// holds when the batch is a multiple of 8, which is when these kernels apply.
public enum SparseConvolutionKernels {
    /// True when these kernels give `SparseKernels`' bits for batches of `batch` examples.
    public static func applies(batch: Int) -> Bool { batch > 0 && batch % 8 == 0 }

    /// The input row of every (active entry, output position): `rows[k * positions + p]`,
    /// -1 in the padding. Rebuilt when the pattern changes.
    public static func inputRows(_ pattern: SparsePattern, _ g: ConvolutionGeometry) -> [Int32] {
        var rows = [Int32](repeating: -1, count: pattern.activeCount * g.positions)
        for k in 0..<pattern.activeCount {
            let column = Int(pattern.columns[k])
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    rows[k * g.positions + oy * g.outputWidth + ox] = Int32(g.inputRow(column: column, oy: oy, ox: ox))
                }
            }
        }
        return rows
    }

    /// `inputRows` position by position: `byPosition[p * activeCount + k]`, so that the
    /// forward pass reads a row's entries at one position from consecutive memory.
    public static func byPosition(_ rows: [Int32], activeCount: Int, positions: Int) -> [Int32] {
        var out = [Int32](repeating: -1, count: rows.count)
        for k in 0..<activeCount { for p in 0..<positions { out[p * activeCount + k] = rows[k * positions + p] } }
        return out
    }

    /// `Y = W P + b 1^T` with `y` O x (positions x batch), overwritten; `x` is the input,
    /// (C H W) x batch; `zeros` holds `batch` zeros; `rows` is `byPosition` of `inputRows`.
    public static func forward(_ pattern: SparsePattern, rows: [Int32], positions: Int, values: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>, x: Matrix, y: Matrix, zeros: UnsafePointer<Float>) {
        let b = x.cols
        precondition(applies(batch: b) && y.rows == pattern.rows && y.cols == positions * b, "sparse convolution shapes")
        let X = UnsafePointer(x.data), Y = y.data
        // Output positions in blocks whose input rows stay in the L2 cache while every output
        // row passes (each output value is computed whole, so the loops' order leaves its
        // bits alone).
        let block = positionBlock(rowsPerPosition: x.rows / max(1, positions), batch: b)
        pattern.rowStart.withUnsafeBufferPointer { rowStart in
            rows.withUnsafeBufferPointer { rows in
                let active = pattern.activeCount
                for first in stride(from: 0, to: positions, by: block) {
                    for i in 0..<pattern.rows {
                        let lo = Int(rowStart[i]), hi = Int(rowStart[i + 1])
                        let bi = SIMD8<Float>(repeating: bias[i])
                        let last = min(first + block, positions)
                        var p = first
                        // Two positions at once where the batch is 32 wide: eight chains of
                        // fused multiply-adds in flight (the FMA latency times its two
                        // pipes), each output value's chain as it is alone.
                        if b == 32 {
                            while p + 2 <= last {
                                let out = Y + (i * positions + p) * b
                                let at = rows.baseAddress! + p * active, at2 = at + active
                                var a0 = bi, a1 = bi, a2 = bi, a3 = bi, c0 = bi, c1 = bi, c2 = bi, c3 = bi
                                for k in lo..<hi {
                                    let w = SIMD8<Float>(repeating: values[k])
                                    let r = Int(at[k]), r2 = Int(at2[k])
                                    let xp = r < 0 ? zeros : X + r * b, xq = r2 < 0 ? zeros : X + r2 * b
                                    a0 = a0.addingProduct(w, SparseKernels.load8(xp))
                                    a1 = a1.addingProduct(w, SparseKernels.load8(xp + 8))
                                    a2 = a2.addingProduct(w, SparseKernels.load8(xp + 16))
                                    a3 = a3.addingProduct(w, SparseKernels.load8(xp + 24))
                                    c0 = c0.addingProduct(w, SparseKernels.load8(xq))
                                    c1 = c1.addingProduct(w, SparseKernels.load8(xq + 8))
                                    c2 = c2.addingProduct(w, SparseKernels.load8(xq + 16))
                                    c3 = c3.addingProduct(w, SparseKernels.load8(xq + 24))
                                }
                                SparseKernels.store8(a0, out); SparseKernels.store8(a1, out + 8)
                                SparseKernels.store8(a2, out + 16); SparseKernels.store8(a3, out + 24)
                                SparseKernels.store8(c0, out + 32); SparseKernels.store8(c1, out + 40)
                                SparseKernels.store8(c2, out + 48); SparseKernels.store8(c3, out + 56)
                                p += 2
                            }
                        }
                        while p < last {
                            defer { p += 1 }
                            let out = Y + (i * positions + p) * b
                            let at = rows.baseAddress! + p * active
                            var j = 0
                            while j + 32 <= b {
                                var a0 = bi, a1 = bi, a2 = bi, a3 = bi
                                for k in lo..<hi {
                                    let w = SIMD8<Float>(repeating: values[k])
                                    let r = Int(at[k])
                                    let xp = (r < 0 ? zeros : X + r * b) + j
                                    a0 = a0.addingProduct(w, SparseKernels.load8(xp))
                                    a1 = a1.addingProduct(w, SparseKernels.load8(xp + 8))
                                    a2 = a2.addingProduct(w, SparseKernels.load8(xp + 16))
                                    a3 = a3.addingProduct(w, SparseKernels.load8(xp + 24))
                                }
                                SparseKernels.store8(a0, out + j); SparseKernels.store8(a1, out + j + 8)
                                SparseKernels.store8(a2, out + j + 16); SparseKernels.store8(a3, out + j + 24)
                                j += 32
                            }
                            while j < b {
                                var a0 = bi
                                for k in lo..<hi {
                                    let r = Int(at[k])
                                    let xp = (r < 0 ? zeros : X + r * b) + j
                                    a0 = a0.addingProduct(SIMD8<Float>(repeating: values[k]), SparseKernels.load8(xp))
                                }
                                SparseKernels.store8(a0, out + j)
                                j += 8
                            }
                        }
                    }
                }
            }
        }
    }

    /// Positions per block so that a block's rows take about 128 KB: `rowsPerPosition` rows
    /// of `batch` floats per position.
    static func positionBlock(rowsPerPosition: Int, batch: Int) -> Int {
        max(1, (128 << 10) / max(1, rowsPerPosition * batch * 4))
    }

    /// `grad[k] = dY[i, :] . P[c_k, :]` for every active entry k (row i), overwritten;
    /// `dy` is O x (positions x batch). The entries of a row go eight, then four, then one
    /// at a time, each finished as `SparseKernels.weightGradient` finishes it. `rows` is
    /// `inputRows` (each entry's positions in consecutive memory: eight streams for a group,
    /// measured faster than `byPosition` here).
    public static func weightGradient(_ pattern: SparsePattern, rows: [Int32], positions: Int, dy: Matrix, x: Matrix,
                                      grad: UnsafeMutablePointer<Float>, zeros: UnsafePointer<Float>) {
        let b = x.cols
        precondition(applies(batch: b) && dy.rows == pattern.rows && dy.cols == positions * b, "sparse convolution shapes")
        let X = UnsafePointer(x.data), DY = UnsafePointer(dy.data)
        pattern.rowStart.withUnsafeBufferPointer { rowStart in
            rows.withUnsafeBufferPointer { rows in
                @inline(__always) func row(_ k: Int, _ p: Int) -> UnsafePointer<Float> {
                    let r = Int(rows[k &* positions &+ p])
                    return r < 0 ? zeros : X + r &* b
                }
                for i in 0..<pattern.rows {
                    let lo = Int(rowStart[i]), hi = Int(rowStart[i + 1])
                    guard lo < hi else { continue }
                    let gi = DY + i * positions * b
                    var k = lo
                    // Eight entries at once. With a batch 32 wide the width is a constant
                    // after inlining, and the loop over the batch unrolls into four steps.
                    @inline(__always) func group8(_ width: Int) -> SIMD8<Float> {
                        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0
                        for p in 0..<positions {
                            let x0 = row(k, p), x1 = row(k + 1, p), x2 = row(k + 2, p), x3 = row(k + 3, p)
                            let x4 = row(k + 4, p), x5 = row(k + 5, p), x6 = row(k + 6, p), x7 = row(k + 7, p)
                            let g = gi + p &* width
                            var n = 0
                            while n < width {
                                let gn = SparseKernels.load8(g + n)
                                a0 = a0.addingProduct(gn, SparseKernels.load8(x0 + n))
                                a1 = a1.addingProduct(gn, SparseKernels.load8(x1 + n))
                                a2 = a2.addingProduct(gn, SparseKernels.load8(x2 + n))
                                a3 = a3.addingProduct(gn, SparseKernels.load8(x3 + n))
                                a4 = a4.addingProduct(gn, SparseKernels.load8(x4 + n))
                                a5 = a5.addingProduct(gn, SparseKernels.load8(x5 + n))
                                a6 = a6.addingProduct(gn, SparseKernels.load8(x6 + n))
                                a7 = a7.addingProduct(gn, SparseKernels.load8(x7 + n))
                                n &+= 8
                            }
                        }
                        return SparseKernels.sums8(a0, a1, a2, a3, a4, a5, a6, a7)
                    }
                    while k + 8 <= hi {
                        SparseKernels.store8(b == 32 ? group8(32) : group8(b), grad + k)
                        k += 8
                    }
                    while k + 4 <= hi {
                        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
                        for p in 0..<positions {
                            let x0 = row(k, p), x1 = row(k + 1, p), x2 = row(k + 2, p), x3 = row(k + 3, p)
                            let g = gi + p * b
                            var n = 0
                            while n < b {
                                let gn = SparseKernels.load8(g + n)
                                a0 = a0.addingProduct(gn, SparseKernels.load8(x0 + n))
                                a1 = a1.addingProduct(gn, SparseKernels.load8(x1 + n))
                                a2 = a2.addingProduct(gn, SparseKernels.load8(x2 + n))
                                a3 = a3.addingProduct(gn, SparseKernels.load8(x3 + n))
                                n += 8
                            }
                        }
                        var r = SIMD4<Float>(repeating: -0.0)
                        for lane in 0..<8 { r += SIMD4(a0[lane], a1[lane], a2[lane], a3[lane]) }
                        UnsafeMutableRawPointer(grad + k).storeBytes(of: r, as: SIMD4<Float>.self)
                        k += 4
                    }
                    while k < hi {
                        var a = SIMD8<Float>()
                        for p in 0..<positions {
                            let xp = row(k, p), g = gi + p * b
                            var n = 0
                            while n < b {
                                a = a.addingProduct(SparseKernels.load8(g + n), SparseKernels.load8(xp + n))
                                n += 8
                            }
                        }
                        grad[k] = a.sum()
                        k += 1
                    }
                }
            }
        }
    }
}
