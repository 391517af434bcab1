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
    /// Input channels and positions (input row r = c * inputPositions + y W + x), and the
    /// upstream gradient's rows per input position (O over the stride squared).
    public let channels: Int, inputPositions: Int, sourceRowsPerPosition: Int

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
        channels = g.channels
        inputPositions = g.height * g.width
        sourceRowsPerPosition = max(1, pattern.rows * g.positions / max(1, inputPositions))
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
        precondition(taps.start.count == dx.rows + 1 && taps.channels * taps.inputPositions == dx.rows && dy.cols % max(b, 1) == 0,
                     "sparse transposed-convolution shapes")
        let DY = UnsafePointer(dy.data), DX = dx.data
        taps.start.withUnsafeBufferPointer { start in
            taps.entry.withUnsafeBufferPointer { entry in
                taps.source.withUnsafeBufferPointer { source in
                    // Input positions in blocks whose upstream rows stay in the L2 cache
                    // while every channel passes (each value is computed whole, so the
                    // loops' order leaves its bits alone).
                    let block = positionBlock(rowsPerPosition: taps.sourceRowsPerPosition, batch: b)
                    for first in stride(from: 0, to: taps.inputPositions, by: block) {
                        for c in 0..<taps.channels {
                            for q in first..<min(first + block, taps.inputPositions) {
                                let r = c * taps.inputPositions + q
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
    }
}
