import SprigTensor
import SprigLayers

/// RigL's grow score of a fully connected sparse layer, the dense gradient
///
///     G = T(0, M),  T(lo, hi) = T(lo, mid) + T(mid, hi),  T(k, k+1) = dY_k X_k^T
///
/// over the global batch's M micro-batches, computed from its factors (`GrowthFactors`)
/// one tile of rows at a time: for rows `a ..< b`, `G[a..<b] = sum_k dY_k[a..<b] X_k^T`,
/// one dense product per micro-batch (`DenseKernels`, whose elements do not depend on the
/// tile around them), added in the same pairwise tree as `GradientTree` adds micro-batches
/// (`PairwiseTree`), so a tile holds the bits the whole matrix would.
/// The extra memory of an update step is the tile pool, `(log2(M) + 1)` tiles of
/// `rows x in` floats, bounded by the tile budget; the dense matrix is never whole.
///
/// Tiles are numbered from the top, `tileRows` rows each, whatever the number of ranks;
/// rank r of n examines tiles r, r + n, r + 2n, ... (its share), so the ranks together
/// examine every tile once and every tile's bits are the same on any rank count.
public struct TiledDenseGradient {
    public let inputs: Int
    public let outputs: Int
    /// Examples per micro-batch (columns of X_k and dY_k).
    public let columns: Int
    public let microbatches: Int
    public let tileRows: Int
    let factors: [Float]

    /// The layer's tiles from tensor `weightIndex`'s factors (every micro-batch of the
    /// global batch, in order), with tiles as tall as `budgetBytes` allows.
    public init(factors: GrowthFactors, weightIndex: Int, budgetBytes: Int) {
        guard let shape = factors.shapes[weightIndex], let floats = factors.floats[weightIndex] else {
            preconditionFailure("no growth factors for tensor \(weightIndex)")
        }
        inputs = shape.inputs
        outputs = shape.outputs
        columns = shape.columns
        microbatches = factors.microbatches(weightIndex)
        self.factors = floats
        let rows = TiledDenseGradient.tileRows(budgetBytes: budgetBytes, inputs: inputs, microbatches: microbatches)
        precondition(rows >= 1, "tile budget of \(budgetBytes) bytes holds no row of \(inputs) inputs")
        tileRows = min(rows, outputs)
    }

    /// Rows per tile that fit `budgetBytes`: the pool holds `levels + 1` tiles, with
    /// `levels = ceil(log2(microbatches))`. Zero when not even one row fits.
    public static func tileRows(budgetBytes: Int, inputs: Int, microbatches: Int) -> Int {
        budgetBytes / (poolTiles(microbatches) * inputs * MemoryLayout<Float>.stride)
    }

    /// Tiles in the pool for `microbatches` micro-batches.
    public static func poolTiles(_ microbatches: Int) -> Int {
        var levels = 0
        while (1 << levels) < microbatches { levels += 1 }
        return levels + 1
    }

    public var tileCount: Int { (outputs + tileRows - 1) / tileRows }

    /// Calls `body(rows, tile)` for each tile of rank `rank` of `ranks`, where `tile` holds
    /// `G[rows]` row-major (`rows.count x inputs`), valid during the call.
    public func forEachTile(rank: Int, of ranks: Int, _ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
        let length = tileRows * inputs
        var free = (0..<TiledDenseGradient.poolTiles(microbatches)).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: length) }
        let pool = free
        defer { for b in pool { b.deallocate() } }
        let step = (inputs + outputs) * columns
        let workspace = DenseWorkspace()
        factors.withUnsafeBufferPointer { f in
            for tile in stride(from: rank, to: tileCount, by: ranks) {
                let rows = (tile * tileRows)..<min((tile + 1) * tileRows, outputs)
                let n = rows.count * inputs
                // The same tree as GradientTree's micro-batches.
                var tree = PairwiseTree<UnsafeMutablePointer<Float>>()
                let add = { (left: UnsafeMutablePointer<Float>, right: UnsafeMutablePointer<Float>) in
                    for i in 0..<n { left[i] += right[i] }
                    free.append(right)
                }
                for k in 0..<microbatches {
                    let x = f.baseAddress! + k * step
                    let dy = x + inputs * columns + rows.lowerBound * columns
                    let product = free.removeLast()
                    DenseKernels.multiply(m: rows.count, n: inputs, k: columns, segments: 1,
                                          a: .init(dy, rowStride: columns), b: .init(x, rowStride: 1, columnStride: columns),
                                          c: product, ldc: inputs, workspace: workspace)
                    tree.push(product, combine: add)
                }
                let right = tree.finish(combine: add)
                body(rows, right)
                free.append(right)
            }
        }
    }
}
