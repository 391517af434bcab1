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
        pattern.rowStart.withUnsafeBufferPointer { rowStart in
            rows.withUnsafeBufferPointer { rows in
                let active = pattern.activeCount
                for i in 0..<pattern.rows {
                    let lo = Int(rowStart[i]), hi = Int(rowStart[i + 1])
                    let bi = SIMD8<Float>(repeating: bias[i])
                    for p in 0..<positions {
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
                    let r = Int(rows[k * positions + p])
                    return r < 0 ? zeros : X + r * b
                }
                for i in 0..<pattern.rows {
                    let lo = Int(rowStart[i]), hi = Int(rowStart[i + 1])
                    guard lo < hi else { continue }
                    let gi = DY + i * positions * b
                    var k = lo
                    while k + 8 <= hi {
                        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0
                        for p in 0..<positions {
                            let x0 = row(k, p), x1 = row(k + 1, p), x2 = row(k + 2, p), x3 = row(k + 3, p)
                            let x4 = row(k + 4, p), x5 = row(k + 5, p), x6 = row(k + 6, p), x7 = row(k + 7, p)
                            let g = gi + p * b
                            var n = 0
                            while n < b {
                                let gn = SparseKernels.load8(g + n)
                                a0 = a0.addingProduct(gn, SparseKernels.load8(x0 + n))
                                a1 = a1.addingProduct(gn, SparseKernels.load8(x1 + n))
                                a2 = a2.addingProduct(gn, SparseKernels.load8(x2 + n))
                                a3 = a3.addingProduct(gn, SparseKernels.load8(x3 + n))
                                a4 = a4.addingProduct(gn, SparseKernels.load8(x4 + n))
                                a5 = a5.addingProduct(gn, SparseKernels.load8(x5 + n))
                                a6 = a6.addingProduct(gn, SparseKernels.load8(x6 + n))
                                a7 = a7.addingProduct(gn, SparseKernels.load8(x7 + n))
                                n += 8
                            }
                        }
                        SparseKernels.store8(SparseKernels.sums8(a0, a1, a2, a3, a4, a5, a6, a7), grad + k)
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

/// The taps of a sparse convolution seen from its input: for every input row r = (c, y, x),
/// the active entries k (kernel (o, c, ky, kx)) and output rows (o, y', x') with
/// `y' s + ky - pad = y` and `x' s + kx - pad = x`, in the order of (o, k, y', x')
/// ascending. Only taps inside the image are listed, so a stride-2 layer lists about a
/// quarter of a 3 x 3 kernel's taps at each input position, and the padding costs nothing.
public struct TransposedTaps {
    /// Input row r's taps are `start[r] ..< start[r + 1]`.
    public let start: [Int32]
    /// The tap's active entry (an index into the layer's active values).
    public let entry: [Int32]
    /// The tap's output row `o * positions + y' W' + x'` of the upstream gradient.
    public let source: [Int32]

    /// The taps of `pattern` (O x (C k k), columns (c, ky, kx)) over geometry `g`.
    public init(_ pattern: SparsePattern, _ g: ConvolutionGeometry) {
        let inputRows = g.channels * g.height * g.width
        var count = [Int32](repeating: 0, count: inputRows + 1)
        func visit(_ body: (_ row: Int, _ k: Int, _ source: Int) -> Void) {
            for o in 0..<pattern.rows {
                for k in Int(pattern.rowStart[o])..<Int(pattern.rowStart[o + 1]) {
                    let column = Int(pattern.columns[k])
                    for oy in 0..<g.outputHeight {
                        for ox in 0..<g.outputWidth {
                            let p = oy * g.outputWidth + ox
                            let r = g.inputRow(column: column, oy: oy, ox: ox)
                            if r >= 0 { body(r, k, o * g.positions + p) }
                        }
                    }
                }
            }
        }
        visit { r, _, _ in count[r + 1] += 1 }
        for r in 0..<inputRows { count[r + 1] += count[r] }
        var next = count
        var entry = [Int32](repeating: 0, count: Int(count[inputRows])), source = entry
        visit { r, k, s in
            let t = Int(next[r])
            entry[t] = Int32(k)
            source[t] = Int32(s)
            next[r] += 1
        }
        start = count
        self.entry = entry
        self.source = source
    }

    /// Taps in all.
    public var count: Int { entry.count }
}

extension SparseConvolutionKernels {
    /// The input gradient of a sparse convolution as a transposed convolution, without the
    /// patch gradient `dP = (M*W)^T dY` and its col2im:
    ///
    ///     dX[r, n] = fma(w_kT, dY[sT, n], ... fma(w_k1, dY[s1, n], 0))
    ///
    /// over input row r's taps (`TransposedTaps`) in order, each value one chain of fused
    /// multiply-adds in registers, written once. Every example's column is summed alone in
    /// the same order, so its bits do not depend on the batch or on the columns beside it
    /// (any batch size). `dy` is O x (positions x batch), `dx` (C H W) x batch, overwritten.
    public static func inputGradient(_ taps: TransposedTaps, values: UnsafePointer<Float>, dy: Matrix, dx: Matrix) {
        let b = dx.cols
        precondition(taps.start.count == dx.rows + 1 && dy.cols % max(b, 1) == 0, "sparse transposed-convolution shapes")
        let DY = UnsafePointer(dy.data), DX = dx.data
        taps.start.withUnsafeBufferPointer { start in
            taps.entry.withUnsafeBufferPointer { entry in
                taps.source.withUnsafeBufferPointer { source in
                    for r in 0..<dx.rows {
                        let lo = Int(start[r]), hi = Int(start[r + 1])
                        let out = DX + r * b
                        var j = 0
                        while j + 32 <= b {
                            var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
                            for t in lo..<hi {
                                let w = SIMD8<Float>(repeating: values[Int(entry[t])])
                                let g = DY + Int(source[t]) * b + j
                                a0 = a0.addingProduct(w, SparseKernels.load8(g))
                                a1 = a1.addingProduct(w, SparseKernels.load8(g + 8))
                                a2 = a2.addingProduct(w, SparseKernels.load8(g + 16))
                                a3 = a3.addingProduct(w, SparseKernels.load8(g + 24))
                            }
                            SparseKernels.store8(a0, out + j); SparseKernels.store8(a1, out + j + 8)
                            SparseKernels.store8(a2, out + j + 16); SparseKernels.store8(a3, out + j + 24)
                            j += 32
                        }
                        while j + 8 <= b {
                            var a = SIMD8<Float>()
                            for t in lo..<hi {
                                a = a.addingProduct(SIMD8<Float>(repeating: values[Int(entry[t])]),
                                                    SparseKernels.load8(DY + Int(source[t]) * b + j))
                            }
                            SparseKernels.store8(a, out + j)
                            j += 8
                        }
                        while j < b {
                            var a: Float = 0
                            for t in lo..<hi { a = a.addingProduct(values[Int(entry[t])], DY[Int(source[t]) * b + j]) }
                            out[j] = a
                            j += 1
                        }
                    }
                }
            }
        }
    }
}

/// A sparse convolution of one example with stride 1, the output positions in the SIMD
/// lanes (Park et al., "Faster CNNs with direct sparse convolutions", ICLR 2017): on the
/// input padded with zeros, output row y' of channel i is
///
///     Y[i, y', x'] = fma(w_kT, Xpad[c_kT, y' + ky_kT, x' + kx_kT], ... fma(w_k1, Xpad[...], b_i))
///
/// over row i's active entries in order, eight neighbouring x' at a time from one
/// contiguous run of the padded input: the chain `SparseKernels.forward` gives each
/// element of the patch matrix in its SIMD lanes (the padding's zeros included), with no
/// patch matrix.
public enum SingleExampleConvolution {
    /// True for the geometries it serves: stride 1.
    public static func applies(_ g: ConvolutionGeometry) -> Bool { g.stride == 1 }

    /// The padded width and the size of the padded input buffer (with eight floats of slack
    /// after it for the last vector).
    public static func paddedWidth(_ g: ConvolutionGeometry) -> Int { g.width + 2 * g.padding }
    public static func paddedCount(_ g: ConvolutionGeometry) -> Int {
        g.channels * (g.height + 2 * g.padding) * paddedWidth(g) + 8
    }

    /// Each active entry's offset `c Hp Wp + ky Wp + kx` in the padded input.
    public static func offsets(_ pattern: SparsePattern, _ g: ConvolutionGeometry) -> [Int32] {
        let wp = paddedWidth(g), plane = (g.height + 2 * g.padding) * wp
        return pattern.columns.map { column in
            let c = Int(column) / (g.kernel * g.kernel), ky = (Int(column) / g.kernel) % g.kernel, kx = Int(column) % g.kernel
            return Int32(c * plane + ky * wp + kx)
        }
    }

    /// Writes the padded copy of one example `x` (C H W values) into `padded`
    /// (`paddedCount` floats; zeros around the image and in the slack).
    public static func pad(_ g: ConvolutionGeometry, x: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>) {
        padded.update(repeating: 0, count: paddedCount(g))
        let wp = paddedWidth(g), hp = g.height + 2 * g.padding
        for c in 0..<g.channels {
            for y in 0..<g.height {
                (padded + (c * hp + y + g.padding) * wp + g.padding).update(from: x + (c * g.height + y) * g.width, count: g.width)
            }
        }
    }

    /// `y` (O x positions, one example) from the padded input.
    public static func forward(_ pattern: SparsePattern, _ g: ConvolutionGeometry, offsets: [Int32], values: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>, padded: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        precondition(applies(g) && offsets.count == pattern.activeCount, "a stride-1 sparse convolution of one example")
        let wp = paddedWidth(g), ow = g.outputWidth
        pattern.rowStart.withUnsafeBufferPointer { rowStart in
            offsets.withUnsafeBufferPointer { offsets in
                for i in 0..<pattern.rows {
                    let lo = Int(rowStart[i]), hi = Int(rowStart[i + 1])
                    let bi = SIMD8<Float>(repeating: bias[i])
                    for oy in 0..<g.outputHeight {
                        let row = padded + oy * wp, out = y + (i * g.outputHeight + oy) * ow
                        var ox = 0
                        while ox + 16 <= ow {
                            var a0 = bi, a1 = bi
                            for k in lo..<hi {
                                let w = SIMD8<Float>(repeating: values[k])
                                let p = row + Int(offsets[k]) + ox
                                a0 = a0.addingProduct(w, SparseKernels.load8(p))
                                a1 = a1.addingProduct(w, SparseKernels.load8(p + 8))
                            }
                            SparseKernels.store8(a0, out + ox)
                            SparseKernels.store8(a1, out + ox + 8)
                            ox += 16
                        }
                        while ox < ow {
                            var a = bi
                            for k in lo..<hi {
                                a = a.addingProduct(SIMD8<Float>(repeating: values[k]), SparseKernels.load8(row + Int(offsets[k]) + ox))
                            }
                            for lane in 0..<min(8, ow - ox) { out[ox + lane] = a[lane] }
                            ox += 8
                        }
                    }
                }
            }
        }
    }
}
