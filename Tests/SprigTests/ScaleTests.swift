import Foundation
import MPI
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

/// Sparse training at scale: everything a sparse layer costs follows its active weights.
@Suite struct ScaleTests {
    /// Skipping ahead in a stream gives the draws a sequential walk gives.
    @Test func advancedStreamMatchesSequentialDraws() {
        var walk = StatelessRandom(seed: 9, purpose: .weightInit, layer: 3)
        let start = walk
        let draws = (0..<100).map { _ in walk.next() }
        for i in [0, 1, 37, 99] {
            var skipped = start.advanced(by: i)
            #expect(skipped.next() == draws[i])
        }
    }

    /// The dictionary form of the partial Fisher-Yates shuffle picks what the array form
    /// (the identity pool, swapped in place) picks, for the same stream.
    @Test(arguments: [(5, 1000), (300, 1000), (1, 2), (0, 10), (50, 60)])
    func randomMaskWithoutAPoolMatchesThePool(count: Int, total: Int) {
        var a = StatelessRandom(seed: 4, purpose: .maskInit, layer: 1), b = a
        var pool = Array(0..<total)
        for i in 0..<count { pool.swapAt(i, i + a.nextInt(below: total - i)) }
        #expect(RandomMask.indices(count: count, of: total, random: &b) == pool[..<count].sorted())
    }

    /// A mask of a few hundred of 6.4e9 positions costs what its active weights cost.
    @Test func layersPastTwoToTheThirtyOnePositions() {
        var random = StatelessRandom(seed: 1, purpose: .maskInit)
        let (rows, cols) = (80_000, 80_000)
        let active = RandomMask.indices(count: 400, of: rows * cols, random: &random)
        #expect(active.last! > Int(Int32.max))
        let pattern = SparsePattern(rows: rows, cols: cols, activeIndices: active)
        #expect(pattern.activeIndices == active)
        let layer = SparseLinear(inputFeatures: cols, outputFeatures: rows, pattern: pattern, fanIn: .sparse)
        let model = Sequential(layers: [layer])
        model.initialize(.heNormal, seed: 3)
        #expect(layer.activeWeights.allSatisfy { $0.isFinite && $0 != 0 })
        withExtendedLifetime(model) {}
        let diff = MaskDiff(sparseLayer: 0, dropped: [active[0], active[399]], grown: [rows * cols - 1, 5])
        #expect(MaskDiff.decode(MaskDiff.encode([diff])) == [diff])
        // SET grows on it by sampling (listing its 6.4e9 free positions would take 51 GB)
        let set = SET(schedule: DropFractionSchedule(shape: .constant, alpha: 0.5, deltaT: 1, end: 10), seed: 1)
        let context = MaskContext(layers: [layer], store: model.store, step: 1)
        let dropped = set.computedDrops(context)[0].dropped
        let kept = KeptPositions(pattern: pattern, dropped: dropped)
        let grown = set.grow(dropped.count, layer: 0, kept: kept, by: TopK(keySeed: 1), context: context)
        #expect(dropped.count == 200 && grown.count == 200 && grown.allSatisfy { !kept.contains($0) })
        let narrow = MaskDiff(sparseLayer: 1, dropped: [3], grown: [7], prunedBiases: [2])
        #expect(MaskDiff.decode(MaskDiff.encode([narrow])) == [narrow])
    }

    /// With the dense fan-in a sparse layer starts with bitwise the dense layer's values at
    /// its active positions; with the sparse fan-in each row is that row scaled by
    /// `sqrt(n_in / fan_in)` (He).
    @Test func fanInScalesTheSameDraws() {
        let (rows, cols) = (12, 30)
        var random = StatelessRandom(seed: 2, purpose: .maskInit)
        let pattern = SparsePattern(rows: rows, cols: cols, activeIndices: RandomMask.indices(count: 60, of: rows * cols, random: &random))
        var dense = [Float](repeating: 0, count: rows * cols)
        var stream = StatelessRandom(seed: 7, purpose: .weightInit, layer: 1)
        WeightInitializer.heNormal.fill(&dense, count: dense.count, fanIn: cols, fanOut: rows, random: &stream)
        for fan in SparseFanIn.allCases {
            let layer = SparseLinear(inputFeatures: cols, outputFeatures: rows, pattern: pattern, fanIn: fan)
            let model = Sequential(layers: [layer])
            defer { withExtendedLifetime(model) {} }
            layer.initialize(.heNormal, seed: 7, layerIndex: 1)
            for (k, p) in pattern.activeIndices.enumerated() {
                let r = p / cols
                let fanIn = Int(pattern.rowStart[r + 1] - pattern.rowStart[r])
                if fan == .dense {
                    #expect(layer.activeWeights[k].bitPattern == dense[p].bitPattern)
                } else {
                    let expected = dense[p] * Float((Double(cols) / Double(fanIn)).squareRoot())
                    #expect(abs(layer.activeWeights[k] - expected) <= 1e-5 * abs(expected))
                }
            }
        }
    }

    /// The kept set answers from the CSR form as a dense bitmap would.
    @Test func keptPositionsMatchABitmap() {
        var random = StatelessRandom(seed: 3, purpose: .maskInit)
        let (rows, cols) = (9, 14)
        let active = RandomMask.indices(count: 40, of: rows * cols, random: &random)
        let dropped = stride(from: 0, to: 40, by: 3).map { active[$0] }
        let kept = KeptPositions(pattern: SparsePattern(rows: rows, cols: cols, activeIndices: active), dropped: dropped)
        let bitmap = (0..<(rows * cols)).map { active.contains($0) && !dropped.contains($0) }
        #expect((0..<(rows * cols)).map(kept.contains) == bitmap)
        var free: [Int] = []
        for r in 0..<rows { kept.forEachFree(inRow: r) { free.append(r * cols + $0) } }
        #expect(free == bitmap.indices.filter { !bitmap[$0] })
        #expect(kept.freeCount == free.count)
    }

    /// Tiles of the dense gradient hold bitwise what the whole matrix computed at once and
    /// summed in the same tree holds; the ranks' shares cover every tile once.
    @Test func tilesHoldTheWholeGradientsBits() {
        let (inputs, outputs, columns, microbatches) = (23, 37, 5, 3)
        let factors = GrowthFactors()
        var random = StatelessRandom(seed: 8, purpose: .shuffle)
        var wholes: [[Float]] = []
        for _ in 0..<microbatches {
            let x = Matrix(rows: inputs, cols: columns), dy = Matrix(rows: outputs, cols: columns)
            for i in 0..<x.count { x.data[i] = random.nextNormal() }
            for i in 0..<dy.count { dy.data[i] = random.nextNormal() }
            factors.record(weightIndex: 0, x: x, dy: dy)
            var g = [Float](repeating: 0, count: outputs * inputs)
            g.withUnsafeMutableBufferPointer { DenseProducts.weightGradient(dy: dy, x: x, into: $0.baseAddress!, workspace: DenseWorkspace()) }
            wholes.append(g)
        }
        // the binary counter over three: (g0 + g1) + g2
        let whole = zip(zip(wholes[0], wholes[1]).map { $0 + $1 }, wholes[2]).map { $0 + $1 }
        let budget = 5 * TiledDenseGradient.poolTiles(microbatches) * inputs * 4 // five rows a tile
        let tiles = TiledDenseGradient(factors: factors, weightIndex: 0, budgetBytes: budget)
        #expect(tiles.tileRows == 5 && tiles.tileCount == 8)
        var seen = [Float](repeating: .nan, count: outputs * inputs)
        for rank in 0..<3 {
            tiles.forEachTile(rank: rank, of: 3) { rows, tile in
                for r in rows {
                    for c in 0..<inputs {
                        #expect(seen[r * inputs + c].isNaN, "row \(r) examined twice")
                        seen[r * inputs + c] = tile[(r - rows.lowerBound) * inputs + c]
                    }
                }
            }
        }
        #expect(zip(seen, whole).allSatisfy { $0.bitPattern == $1.bitPattern })
        #expect(TiledDenseGradient.tileRows(budgetBytes: inputs * 4, inputs: inputs, microbatches: microbatches) == 0)
    }

    /// RigL from factors in tiles (every rank's share, merged) decides what RigL from the
    /// whole dense gradient decides: same masks and bits after several updates.
    @Test func rigLFromFactorsDecidesAsFromDenseGradients() {
        let reference = SparseRig(method: .rigl), tiled = SparseRig(method: .rigl)
        tiled.step.tree.denseReduction = .gatherFactors
        tiled.step.tileBudgetBytes = 3 * 2 * 20 * 4 // three rows of the first layer a tile
        reference.train(1...15)
        tiled.train(1...15)
        #expect(tiled.step.maskUpdates == 3)
        #expect(tiled.layers.map(\.pattern) == reference.layers.map(\.pattern))
        let n = reference.model.store.count
        #expect((0..<n).allSatisfy { tiled.model.store.values[$0].bitPattern == reference.model.store.values[$0].bitPattern })
    }

    /// Proposals from two ranks' shares of the tiles, merged, give the single process's
    /// decision.
    @Test func proposalsOfTwoSharesMergeToOneDecision() {
        let rig = SparseRig(method: .rigl)
        rig.train(1...4)
        rig.step.tree.denseReduction = .gatherFactors
        let reduced = rig.step.accumulateGradients(inputs: rig.x, labels: rig.labels, dense: true)
        defer { rig.step.tree.endStep() }
        let policy = rig.step.policy!
        func context(_ rank: Int, _ ranks: Int) -> MaskContext {
            MaskContext(layers: rig.layers, store: rig.model.store, step: 5, factors: reduced.factors, rank: rank, ranks: ranks,
                        tileBudgetBytes: 2 * 2 * 20 * 4)
        }
        var one = context(0, 1)
        one.candidates = policy.proposeGrowth(one)
        var two = context(0, 2)
        let shares = [policy.proposeGrowth(context(0, 2))!, policy.proposeGrowth(context(1, 2))!]
        two.candidates = rig.layers.indices.map { shares[0][$0] + shares[1][$0] }
        #expect(shares[1].contains { !$0.isEmpty }, "rank 1 proposed nothing")
        #expect(policy.decide(two) == policy.decide(one))
    }

    /// With the dense gradient held by every rank (allreduce), the ranks' proposals do not
    /// repeat a position, and they merge to the single process's decision.
    @Test func proposalsFromHeldDenseGradientsDoNotRepeat() {
        let rig = SparseRig(method: .rigl)
        rig.train(1...4)
        let reduced = rig.step.accumulateGradients(inputs: rig.x, labels: rig.labels, dense: true)
        defer { rig.step.tree.endStep() }
        let policy = rig.step.policy!
        func context(_ rank: Int, _ ranks: Int) -> MaskContext {
            MaskContext(layers: rig.layers, store: rig.model.store, step: 5, denseGradients: reduced.denseGradients, rank: rank, ranks: ranks)
        }
        var one = context(0, 1)
        one.candidates = policy.proposeGrowth(one)
        var two = context(0, 2)
        let shares = [policy.proposeGrowth(context(0, 2))!, policy.proposeGrowth(context(1, 2))!]
        two.candidates = rig.layers.indices.map { shares[0][$0] + shares[1][$0] }
        for union in two.candidates! { #expect(Set(union.map(\.position)).count == union.count, "a position proposed twice") }
        #expect(policy.decide(two) == policy.decide(one))
    }

    /// SET's sampled growth: k distinct free positions, also when few are free (the
    /// listed fallback: sparsity 0.1 and alpha 0.1 leave 60 of 320 free).
    @Test(arguments: [(0.8, 0.5), (0.1, 0.1)])
    func setSamplesFreePositions(sparsity: Double, alpha: Double) {
        let rig = SparseRig(method: .set, alpha: alpha, sparsity: sparsity)
        rig.train(1...4)
        let context = MaskContext(layers: rig.layers, store: rig.model.store, step: 5)
        let set = rig.step.policy as! SET
        for (l, layer) in rig.layers.enumerated() {
            let dropped = set.computedDrops(context)[l].dropped
            let kept = KeptPositions(pattern: layer.pattern, dropped: dropped)
            let grown = set.grow(dropped.count, layer: l, kept: kept, by: TopK(keySeed: 1), context: context)
            #expect(grown.count == dropped.count && Set(grown).count == grown.count)
            #expect(grown.allSatisfy { !kept.contains($0) && $0 < layer.inputFeatures * layer.outputFeatures })
        }
    }

    /// The tile budget must hold a row; `factors` only where it applies.
    @Test func tileBudgetAndFactorsAreChecked() throws {
        var s = SparsitySettings()
        s.method = .rigl
        s.tileBudgetMB = 1
        let wide = SparseLinear(inputFeatures: 300_000, outputFeatures: 4, pattern: SparsePattern(rows: 4, cols: 300_000, activeIndices: [1]))
        let fail = { (field: String, message: String) in SprigError("config.yaml", "\(field): \(message)") }
        let error = sprigError { try s.checkTileBudget(layers: [("fc1.weight", wide)], microbatches: 4, fail: fail) }
        #expect(error?.message.contains("tile_budget_mb: 1 MB holds no row of fc1.weight") == true)
        s.tileBudgetMB = 8
        try s.checkTileBudget(layers: [("fc1.weight", wide)], microbatches: 4, fail: fail)
        s.method = .snfs
        s.denseGradientReduction = .gatherFactors
        #expect(sprigError { _ = try s.resolvedReduction(layers: [wide], convolutional: false, batchSize: 8, fail: fail) } != nil)
        s.method = .rigl
        #expect(sprigError { _ = try s.resolvedReduction(layers: [wide], convolutional: true, batchSize: 8, fail: fail) } != nil)
        s.denseGradientReduction = nil
        // factors (300004 x 2 floats) fewer than the dense gradient (1.2M): factors; not with 8
        #expect(try s.resolvedReduction(layers: [wide], convolutional: false, batchSize: 2, fail: fail) == .gatherFactors)
        #expect(try s.resolvedReduction(layers: [wide], convolutional: false, batchSize: 8, fail: fail) == .reduceToRoot)
        #expect(try s.resolvedReduction(layers: [wide], convolutional: true, batchSize: 2, fail: fail) == .reduceToRoot)
    }
}
