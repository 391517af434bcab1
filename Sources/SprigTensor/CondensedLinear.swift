/// A sparse layer with a constant fan-in held condensed, as SRigL proposes for inference
/// (Lasby et al., "Dynamic sparse training with structured sparsity", ICLR 2024, section
/// 4.4): every neuron (row) has the same number k of active inputs, so the weights form a
/// dense `rows x k` matrix of values beside a `rows x k` matrix of column indices, and
///
///     Y[i, n] = b_i + sum_{j < k} V[i, j] X[C[i, j], n]
///
/// is computed for eight neurons at once, one SIMD8 lane each (a gather of eight inputs per
/// slot j), instead of the CSR kernel's one neuron at a time. The neurons are stored in
/// blocks of eight, slot-major within a block (`(block k + j) 8 + lane`); the lanes past the
/// last neuron, and the slots of a neuron with fewer than k inputs (an ablated neuron has
/// none), hold the value 0 at column 0 (adding `0 x`, which changes no finite sum but a
/// -0 bias). Each lane adds its products in slot order with the multiply and the add
/// rounded apart, the order and rounding of `SparseKernels.forward` on a batch column
/// outside its SIMD blocks (a batch below 8, or its tail), so the two agree bitwise there.
///
/// `sprig bench --condensed` measures it against the CSR kernel on constant fan-in masks:
/// at batch 1, where the CSR kernel sums each neuron in one dependent chain, the eight
/// independent lanes are about twice as fast; from batch 8 up the CSR kernel, vectorised
/// over the batch, is faster (about 3 times at batch 8, over 7 times at 32; docs/results.md).
/// The layers therefore keep the CSR layout; a condensed copy would pay only for
/// one-example inference, kept in step with the weights.
public struct CondensedLinear {
    public let rows: Int
    public let cols: Int
    /// The fan-in k: the most active inputs of any neuron.
    public let fanIn: Int
    var columns: [Int32]
    var values: [Float]
    var bias: [Float]

    /// The condensed form of a CSR layer (`values` in the pattern's storage order).
    public init(_ pattern: SparsePattern, values: UnsafePointer<Float>, bias: UnsafePointer<Float>) {
        rows = pattern.rows
        cols = pattern.cols
        let rowStart = pattern.rowStart
        fanIn = (0..<rows).map { Int(rowStart[$0 + 1] - rowStart[$0]) }.max() ?? 0
        let blocks = (rows + 7) / 8
        columns = [Int32](repeating: 0, count: blocks * fanIn * 8)
        self.values = [Float](repeating: 0, count: blocks * fanIn * 8)
        self.bias = [Float](repeating: 0, count: blocks * 8)
        for i in 0..<rows {
            let block = i / 8, lane = i % 8
            self.bias[i] = bias[i]
            for (j, k) in (Int(rowStart[i])..<Int(rowStart[i + 1])).enumerated() {
                let slot = (block * fanIn + j) * 8 + lane
                columns[slot] = pattern.columns[k]
                self.values[slot] = values[k]
            }
        }
    }

    /// Bytes of values, indices and bias.
    public var bytes: Int { columns.count * 4 + values.count * 4 + bias.count * 4 }

    /// `Y = W X + b 1^T` (X: `cols x batch`, Y: `rows x batch`, row-major); `y` is overwritten.
    public func forward(x: Matrix, y: Matrix) {
        precondition(x.rows == cols && y.rows == rows && x.cols == y.cols, "condensed forward shapes")
        let batch = x.cols, k = fanIn
        let X = UnsafePointer(x.data), Y = y.data
        columns.withUnsafeBufferPointer { c in
            values.withUnsafeBufferPointer { v in
                bias.withUnsafeBufferPointer { b in
                    let C = c.baseAddress!, V = v.baseAddress!, B = b.baseAddress!
                    for n in 0..<batch {
                        let column = X + n
                        var block = 0
                        while block &* 8 < rows {
                            var a = UnsafeRawPointer(B + block &* 8).loadUnaligned(as: SIMD8<Float>.self)
                            var c = C + block &* k &* 8, w = V + block &* k &* 8
                            for _ in 0..<k {
                                let g = SIMD8<Float>(column[Int(c[0]) &* batch], column[Int(c[1]) &* batch],
                                                     column[Int(c[2]) &* batch], column[Int(c[3]) &* batch],
                                                     column[Int(c[4]) &* batch], column[Int(c[5]) &* batch],
                                                     column[Int(c[6]) &* batch], column[Int(c[7]) &* batch])
                                a = a + UnsafeRawPointer(w).loadUnaligned(as: SIMD8<Float>.self) * g
                                c += 8
                                w += 8
                            }
                            let lanes = min(8, rows &- block &* 8)
                            for lane in 0..<lanes { Y[(block &* 8 &+ lane) &* batch &+ n] = a[lane] }
                            block &+= 1
                        }
                    }
                }
            }
        }
    }
}
