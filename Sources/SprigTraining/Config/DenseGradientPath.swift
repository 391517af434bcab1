import SprigTensor
import SprigLayers
import SprigSparsity
import SprigModels
import SprigDistributed

extension SparsitySettings {
    /// How this run's update steps bring the method its dense gradients
    /// (`dense_gradient_reduction`, with `auto` resolved): `factors` when the method's grow
    /// score is `|dL/dW|` (`MethodTraits.growsFromFactors`), every sparse layer is fully
    /// connected, and the factors `sum (in + out) B` are fewer floats than the dense
    /// gradients `sum in out`; otherwise `reduce` (SNFS's moving average is dense by
    /// definition). Throws for `factors` where it cannot apply.
    public func resolvedReduction(layers: [SparseLinear], convolutional: Bool, batchSize: Int,
                                  fail: (String, String) -> SprigError) throws -> DenseGradientReduction {
        let field = "sparsity.dense_gradient_reduction"
        if let chosen = denseGradientReduction {
            guard chosen == .gatherFactors else { return chosen }
            guard traits.growsFromFactors else {
                throw fail(field, "factors serves methods that grow by |dL/dW|; \(method.name) reduces dense gradients")
            }
            guard !convolutional else { throw fail(field, "factors needs fully connected sparse layers; this model has sparse convolutions") }
            return chosen
        }
        guard traits.growsFromFactors, !convolutional else { return .reduceToRoot }
        let factorFloats = layers.reduce(0) { $0 + ($1.inputFeatures + $1.outputFeatures) * batchSize }
        let denseFloats = layers.reduce(0) { $0 + $1.inputFeatures * $1.outputFeatures }
        return factorFloats < denseFloats ? .gatherFactors : .reduceToRoot
    }

    /// `resolvedReduction` for `model`'s sparse layers (convolutional when a `Conv2D` holds one).
    public func resolvedReduction(for model: Sequential, batchSize: Int,
                                  fail: (String, String) -> SprigError) throws -> DenseGradientReduction {
        let sparse = model.sparseLayers
        return try resolvedReduction(layers: sparse.map(\.layer), convolutional: sparse.contains { model.leaves[$0.index] is Conv2D },
                                     batchSize: batchSize, fail: fail)
    }

    /// Checks that the tile budget holds at least one row of every layer's dense gradient
    /// (with the pool of `TiledDenseGradient` for `microbatches` micro-batches).
    public func checkTileBudget(layers: [(name: String, layer: SparseLinear)], microbatches: Int,
                                fail: (String, String) -> SprigError) throws {
        let budget = tileBudgetMB << 20
        for (name, layer) in layers
        where TiledDenseGradient.tileRows(budgetBytes: budget, inputs: layer.inputFeatures, microbatches: microbatches) < 1 {
            let need = TiledDenseGradient.poolTiles(microbatches) * layer.inputFeatures * MemoryLayout<Float>.stride
            throw fail("sparsity.tile_budget_mb", "\(tileBudgetMB) MB holds no row of \(name)'s dense gradient: one row of "
                       + "\(layer.inputFeatures) inputs with \(microbatches) micro-batches needs \(need) bytes (at least "
                       + "\((need + (1 << 20) - 1) >> 20) MB)")
        }
    }
}
