import SprigTensor

/// A convolution's dense products on its patch matrix, read where it lies in the input
/// through panel-row addresses (`PatchPanels`), a chunk of positions at a time; the
/// (C k k) x (positions x batch) patch matrix is never written:
///
///     Y[:, chunk]  = W P[:, chunk] + b 1^T          (forward; B's panel rows by address)
///     dW^T        += P[:, chunk] dY[:, chunk]^T      (weight gradient; A's runs by address)
///     dX[:, chunk] = W' Q[:, chunk]                  (input gradient, stride 1: the transposed
///                                                     convolution, Q the im2col of dY)
///     dX          += col2im(W^T dY[:, chunk])        (input gradient, other strides)
///
/// Every element of Y, of dW and of a stride-1 dX is its chain of fused multiply-adds over
/// the inner dimension in order (`DenseKernels`), chunked or not; col2im adds the chunks'
/// patch gradients position by position. Nothing depends on the examples beside a column,
/// so a micro-batch's bits do not depend on the batch it sits in. Needs batches that fill
/// whole panels (`PatchPanels.applies`).
final class PanelConvolution {
    let geometry: ConvolutionGeometry
    let outputChannels: Int
    /// The input row of each (position, patch row); for a stride-1 convolution, the row of
    /// `dY` of each (input position, (o, ky, kx)) and the weights rearranged to match.
    private lazy var table = PatchPanels.rowTable(geometry)
    private lazy var transposedTable = PatchPanels.transposedRowTable(geometry, outputChannels: outputChannels)
    private var transposedWeights: [Float] = []
    /// A chunk's panel-row addresses, 16 zeros for the padding, a chunk's patch gradient,
    /// and `dW^T`.
    private var rows: UnsafeMutablePointer<UnsafePointer<Float>>
    private var rowCapacity = 0
    private let zeros = UnsafeMutablePointer<Float>.allocate(capacity: DenseKernels.tileColumns)
    private var patchGradient: [Float] = []
    private var transposedWeightGradient: [Float] = []
    private let workspace = DenseWorkspace()

    init(geometry: ConvolutionGeometry, outputChannels: Int) {
        self.geometry = geometry
        self.outputChannels = outputChannels
        rows = .allocate(capacity: 0)
        zeros.initialize(repeating: 0, count: DenseKernels.tileColumns)
    }

    deinit {
        rows.deallocate()
        zeros.deallocate()
    }

    private var patchRows: Int { geometry.channels * geometry.kernel * geometry.kernel }

    /// The chunks of positions for batches of `batch`, each position reading
    /// `rowsPerPosition` rows, with room for one chunk's panel-row addresses. The weight
    /// gradient's chunks span at least 512 columns: each chunk loads and stores all of
    /// `dW^T` once, which must not outweigh its products.
    private func chunks(batch: Int, rowsPerPosition: Int, positions: Int, addresses: Bool = true,
                        forWeightGradient: Bool = false) -> [Range<Int>] {
        var size = PatchPanels.chunkPositions(rowsPerPosition: rowsPerPosition, positions: positions, batch: batch, addresses: addresses)
        if forWeightGradient { size = min(positions, max(size, (512 + batch - 1) / batch)) }
        let needed = rowsPerPosition * size * batch / DenseKernels.tileColumns
        if rowCapacity < needed {
            rows.deallocate()
            rows = .allocate(capacity: needed)
            rowCapacity = needed
        }
        return stride(from: 0, to: positions, by: size).map { $0..<min($0 + size, positions) }
    }

    private func chunks(batch: Int, addresses: Bool = true, forWeightGradient: Bool = false) -> [Range<Int>] {
        chunks(batch: batch, rowsPerPosition: patchRows, positions: geometry.positions, addresses: addresses,
               forWeightGradient: forWeightGradient)
    }

    /// `Y = W P + b 1^T` with `W` O x (C k k) row-major and `y` O x (positions x batch).
    func forward(weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, x: Matrix, y: Matrix) {
        let b = x.cols, k = patchRows, n = geometry.positions * b
        for chunk in chunks(batch: b) {
            PatchPanels.rowAddresses(table: table, rowsPerPosition: k, source: x, positions: chunk, zeros: zeros, into: rows)
            DenseKernels.multiply(m: outputChannels, n: chunk.count * b, k: k, a: .init(weights, rowStride: k), bRows: rows,
                                  rowInitial: bias, c: y.data + chunk.lowerBound * b, ldc: n, workspace: workspace)
        }
    }

    /// `dW = dY P^T` (O x (C k k), row-major, overwritten) for the forward pass on `x`,
    /// computed as `(P dY^T)^T` chunk after chunk, each continuing the chains of the last.
    func weightGradient(dy: Matrix, x: Matrix, into dw: UnsafeMutablePointer<Float>) {
        let b = x.cols, k = patchRows, o = outputChannels, n = dy.cols
        if transposedWeightGradient.count != k * o { transposedWeightGradient = [Float](repeating: 0, count: k * o) }
        let chunks = chunks(batch: b, forWeightGradient: true)
        transposedWeightGradient.withUnsafeMutableBufferPointer { t in
            for (i, chunk) in chunks.enumerated() {
                PatchPanels.rowAddresses(table: table, rowsPerPosition: k, source: x, positions: chunk, zeros: zeros, into: rows)
                DenseKernels.multiply(m: k, n: o, k: chunk.count * b, aRows: rows,
                                      b: .init(dy.data + chunk.lowerBound * b, rowStride: 1, columnStride: n), continuing: i > 0,
                                      c: t.baseAddress!, ldc: o, workspace: workspace)
            }
            DenseKernels.transpose(rows: k, cols: o, source: t.baseAddress!, target: dw)
        }
    }

    /// `dX` ((C H W) x batch, overwritten): for stride 1 the transposed convolution of `dY`,
    /// `dX[c, (y, x)] = sum over (o, ky, kx) of W[o, c, ky, kx] dY[o, (y + pad - ky, x + pad - kx)]`,
    /// one product per chunk of input positions whose B rows are runs of `dY` by address
    /// (each element the chain over (o, ky, kx) in order, written once); otherwise
    /// `col2im(W^T dY)`, chunk after chunk.
    func inputGradient(weights: UnsafePointer<Float>, dy: Matrix, into dx: Matrix) {
        if geometry.stride == 1 { return transposedConvolution(weights: weights, dy: dy, into: dx) }
        let b = dx.cols, k = patchRows, n = dy.cols
        let chunks = chunks(batch: b, addresses: false)
        let size = chunks[0].count * b
        if patchGradient.count < k * size { patchGradient = [Float](repeating: 0, count: k * size) }
        dx.data.update(repeating: 0, count: dx.count)
        patchGradient.withUnsafeMutableBufferPointer { dp in
            for chunk in chunks {
                let width = chunk.count * b
                DenseKernels.multiply(m: k, n: width, k: outputChannels, a: .init(weights, rowStride: 1, columnStride: k),
                                      b: .init(dy.data + chunk.lowerBound * b, rowStride: n), rowInitial: nil, c: dp.baseAddress!,
                                      ldc: width, workspace: workspace)
                PatchPanels.addPatchGradient(geometry, table: table, dp: dp.baseAddress!, positions: chunk, into: dx)
            }
        }
    }

    /// The stride-1 input gradient as one product per chunk of input positions:
    /// `dX = W' B'` with `W'(c, (o, ky, kx)) = W[o, c, ky, kx]` and B' the upstream gradient's
    /// rows by address (`PatchPanels.transposedRowTable`).
    private func transposedConvolution(weights: UnsafePointer<Float>, dy: Matrix, into dx: Matrix) {
        let b = dx.cols, k = geometry.kernel, c = geometry.channels, o = outputChannels, inner = o * k * k
        let inputPositions = geometry.height * geometry.width
        if transposedWeights.count != c * inner { transposedWeights = [Float](repeating: 0, count: c * inner) }
        for oc in 0..<o {
            for ic in 0..<c {
                for tap in 0..<(k * k) { transposedWeights[ic * inner + oc * k * k + tap] = weights[(oc * c + ic) * k * k + tap] }
            }
        }
        let dyRows = Matrix(viewing: dy, rows: o * geometry.positions, cols: b)
        let chunks = chunks(batch: b, rowsPerPosition: inner, positions: inputPositions)
        transposedWeights.withUnsafeBufferPointer { w in
            for chunk in chunks {
                PatchPanels.rowAddresses(table: transposedTable, rowsPerPosition: inner, source: dyRows, positions: chunk, zeros: zeros,
                                         into: rows)
                DenseKernels.multiply(m: c, n: chunk.count * b, k: inner, a: .init(w.baseAddress!, rowStride: inner), bRows: rows,
                                      rowInitial: nil, c: dx.data + chunk.lowerBound * b, ldc: inputPositions * b, workspace: workspace)
            }
        }
    }
}
