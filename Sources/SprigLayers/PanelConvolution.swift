import SprigTensor

/// A convolution's dense products on its patch matrix, read where it lies in the input
/// through panel-row addresses (`PatchPanels`), a chunk of output positions at a time; the
/// (C k k) x (positions x batch) patch matrix is never written:
///
///     Y[:, chunk]  = W P[:, chunk] + b 1^T                  (forward; B in panels, nothing packed)
///     dW^T        += P[:, chunk] dY[:, chunk]^T              (weight gradient; A in panels)
///     dX          += col2im(W^T dY[:, chunk])                (input gradient)
///
/// Every element of Y and of dW is its chain of fused multiply-adds over the inner
/// dimension in order (`DenseKernels`), chunked or not; dX adds the chunks' patch
/// gradients position by position. Nothing depends on the examples beside a column, so a
/// micro-batch's bits do not depend on the batch it sits in. Needs batches that fill
/// whole panels (`PatchPanels.applies`).
final class PanelConvolution {
    let geometry: ConvolutionGeometry
    let outputChannels: Int
    /// The input row of each (position, patch row).
    private lazy var table = PatchPanels.rowTable(geometry)
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

    /// The chunks of output positions for batches of `batch`, with room for one chunk's
    /// panel-row addresses. The weight gradient's chunks span at least 512 columns: each
    /// chunk loads and stores all of `dW^T` once, which must not outweigh its products.
    private func chunks(batch: Int, forWeightGradient: Bool = false) -> [Range<Int>] {
        var size = PatchPanels.chunkPositions(geometry, batch: batch)
        if forWeightGradient { size = min(geometry.positions, max(size, (512 + batch - 1) / batch)) }
        let needed = patchRows * size * batch / DenseKernels.tileColumns
        if rowCapacity < needed {
            rows.deallocate()
            rows = .allocate(capacity: needed)
            rowCapacity = needed
        }
        return stride(from: 0, to: geometry.positions, by: size).map { $0..<min($0 + size, geometry.positions) }
    }

    /// `Y = W P + b 1^T` with `W` O x (C k k) row-major and `y` O x (positions x batch).
    func forward(weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, x: Matrix, y: Matrix) {
        let b = x.cols, k = patchRows, n = geometry.positions * b
        for chunk in chunks(batch: b) {
            PatchPanels.rowAddresses(geometry, table: table, x: x, positions: chunk, zeros: zeros, into: rows)
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
                PatchPanels.rowAddresses(geometry, table: table, x: x, positions: chunk, zeros: zeros, into: rows)
                DenseKernels.multiply(m: k, n: o, k: chunk.count * b, aRows: rows,
                                      b: .init(dy.data + chunk.lowerBound * b, rowStride: 1, columnStride: n), continuing: i > 0,
                                      c: t.baseAddress!, ldc: o, workspace: workspace)
            }
            DenseKernels.transpose(rows: k, cols: o, source: t.baseAddress!, target: dw)
        }
    }

    /// `dX = col2im(W^T dY)` ((C H W) x batch, overwritten), chunk after chunk.
    func inputGradient(weights: UnsafePointer<Float>, dy: Matrix, into dx: Matrix) {
        let b = dx.cols, k = patchRows, n = dy.cols
        let chunks = chunks(batch: b)
        let size = PatchPanels.chunkPositions(geometry, batch: b) * b
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
}
