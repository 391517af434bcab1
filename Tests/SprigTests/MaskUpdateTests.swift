import Foundation
import MPI
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

/// A two-layer sparse model with its training step, on random data (shared by the
/// mask-update and pruning tests).
final class SparseRig {
    let model: Sequential
    let step: TrainingStep
    let x: [Matrix]
    let labels: [[Int32]]

    init(method: SparseTrainingMethod, deltaT: Int = 5, alpha: Double = 0.3, sparsity: Double = 0.8, redistribute: Bool = false) {
        let arch = ModelArchitecture.mlp(sizes: [20, 16, 4])
        model = Sequential(layers: arch.makeLayers(sparsities: [sparsity, sparsity], seed: 2))
        model.initialize(.glorotUniform, seed: 2)
        let sgd = SGD(store: model.store, settings: SGD.Settings(momentum: 0.9, nesterov: true, weightDecay: 0))
        let schedule = DropFractionSchedule(shape: .constant, alpha: alpha, deltaT: deltaT, end: 1000)
        let policy: MaskPolicy?
        switch method {
        case .rigl: policy = RigL(schedule: schedule, seed: 3)
        case .set: policy = SET(schedule: schedule, seed: 3)
        case .snfs: policy = SNFS(schedule: schedule, seed: 3, redistribute: redistribute)
        case .static: policy = StaticMask()
        default: policy = nil
        }
        step = TrainingStep(model: model, optimizer: sgd, replicas: .single(), globalBatch: 8,
                            microbatches: 2, policy: policy)
        var random = StatelessRandom(seed: 5, purpose: .shuffle)
        x = (0..<2).map { _ in
            let m = Matrix(rows: 20, cols: 4)
            for i in 0..<m.count { m.data[i] = random.nextNormal() }
            return m
        }
        labels = (0..<2).map { _ in (0..<4).map { _ in Int32(random.nextInt(below: 4)) } }
    }

    var layers: [SparseLinear] { model.sparseLayers.map(\.layer) }

    /// Each active connection of `layer` (flat index) with its weight and momentum.
    func state(_ layer: SparseLinear) -> [Int: (w: Float, v: Float)] {
        let v = Array((step.optimizer as! SGD).velocity[model.store.offsets[layer.weightIndex]...])
        let w = layer.activeWeights
        return Dictionary(uniqueKeysWithValues: layer.pattern.activeIndices.enumerated().map { ($1, (w[$0], v[$0])) })
    }

    /// Step t's gradients and optimizer step, without a mask update (what SET and SNFS do
    /// before theirs); returns the step's dense gradients (by store tensor) when `dense`.
    @discardableResult
    func optimizerStepOnly(dense: Bool) -> [Int: [Float]] {
        let reduced = step.accumulateGradients(inputs: x, labels: labels, dense: dense)
        var gradients: [Int: [Float]] = [:]
        if dense {
            for layer in layers {
                let n = layer.inputFeatures * layer.outputFeatures
                gradients[layer.weightIndex] = Array(UnsafeBufferPointer(start: model.store.slot(layer.weightIndex).denseGradients(in: reduced.buffers)!, count: n))
            }
        }
        step.optimizer.step(lr: 0.05, gradients: reduced.gradients)
        step.tree.endStep()
        return gradients
    }

    func train(_ steps: ClosedRange<Int>) {
        for t in steps { step(inputs: x, labels: labels, learningRate: 0.05, step: t) }
    }
}

@Suite struct MaskUpdateTests {
    /// Across many RigL, SET and SNFS updates every layer keeps its number of active weights.
    @Test(arguments: [SparseTrainingMethod.rigl, .set, .snfs, .static])
    func activeCountIsConstant(method: SparseTrainingMethod) {
        let rig = SparseRig(method: method)
        let before = rig.layers.map(\.pattern.activeCount)
        let patterns = rig.layers.map(\.pattern)
        rig.train(1...40)
        #expect(rig.layers.map(\.pattern.activeCount) == before)
        #expect(rig.model.store.count == before.reduce(0, +) + 16 + 4)
        #expect(rig.step.maskUpdates == (method == .static ? 0 : 8))
        if method != .static { #expect(rig.layers.map(\.pattern) != patterns) }
    }

    /// The drop and grow sets of one update, checked against the state before it.
    /// `weights` are the active weights the drop sees (flat index -> w), `score` the grow
    /// score of every connection, `k` the count. Returns the kept and grown sets.
    private func checkDropAndGrow(weights: [Int: Float], after: [Int: (w: Float, v: Float)], k: Int,
                                  score: ((Int) -> Float)?, total: Int) -> (kept: Set<Int>, grown: Set<Int>) {
        let byMagnitude = weights.sorted { abs($0.value) < abs($1.value) }
        let threshold = abs(byMagnitude[k - 1].value)
        #expect(abs(byMagnitude[k].value) > threshold, "a tie at the drop threshold: the test cannot tell")
        let kept = Set(byMagnitude.dropFirst(k).map(\.key)) // every weight above the k-th smallest |w|
        let activeAfter = Set(after.keys)
        #expect(activeAfter.count == weights.count)
        #expect(kept.isSubset(of: activeAfter), "a weight above the drop threshold was dropped")
        let grown = activeAfter.subtracting(kept) // newcomers and just-dropped connections grown again
        #expect(grown.count == k)
        if let score {
            // the grown set is the k best scores among the connections not kept (ties at the
            // threshold go either way)
            let candidates = (0..<total).filter { !kept.contains($0) }
            let growThreshold = candidates.map { abs(score($0)) }.sorted(by: >)[k - 1]
            for g in grown { #expect(abs(score(g)) >= growThreshold) }
            for c in candidates where abs(score(c)) > growThreshold { #expect(grown.contains(c), "candidate \(c) above the grow threshold not grown") }
        }
        // every grown connection, just-dropped ones included, restarts at zero with zero momentum
        for g in grown { #expect(after[g]!.w == 0 && after[g]!.v == 0, "grown connection \(g): \(after[g]!)") }
        return (kept, grown)
    }

    /// RigL's sets: the k smallest |w| are dropped; the k largest |dense gradient| among
    /// connections not kept are grown; grown weights and momentum are zero. The update
    /// replaces the optimizer step: kept weights and their momentum stay bitwise as they were.
    @Test func rigLDropsSmallestAndGrowsLargestGradient() {
        let rig = SparseRig(method: .rigl)
        rig.train(1...4)
        // step 5 updates: recompute what it should do from the state before it
        let layer = rig.layers[0]
        let before = rig.state(layer)
        let biasesBefore = Array(layer.biasValues)
        let reduced = rig.step.accumulateGradients(inputs: rig.x, labels: rig.labels, dense: true)
        let dense = Array(UnsafeBufferPointer(start: rig.model.store.slot(layer.weightIndex).denseGradients(in: reduced.buffers)!, count: 320))
        rig.step.tree.endStep()
        let k = Int(0.3 * Double(before.count))
        rig.train(5...5)
        let after = rig.state(layer)
        let (kept, grown) = checkDropAndGrow(weights: before.mapValues(\.w), after: after, k: k, score: { dense[$0] }, total: 320)
        #expect(grown.count > 0)
        let smallest = Set(before.keys).subtracting(kept)
        let regrown = grown.intersection(smallest)
        #expect(regrown.allSatisfy { before[$0]!.w != 0 } && grown.subtracting(regrown).allSatisfy { before[$0] == nil })
        for i in kept {
            #expect(after[i]!.w.bitPattern == before[i]!.w.bitPattern && after[i]!.v.bitPattern == before[i]!.v.bitPattern,
                    "kept connection \(i) moved: \(before[i]!) -> \(after[i]!)")
        }
        #expect(Array(layer.biasValues) == biasesBefore)
    }

    /// SET: the optimizer step comes first, then the k = floor(alpha n) smallest |w| of the
    /// stepped weights are dropped (every weight above the k-th smallest magnitude is
    /// kept, with its stepped value and momentum), and k connections among those not kept
    /// are grown at zero with zero momentum.
    @Test func setDropsSmallestAfterTheOptimizerStepAndGrowsAtZero() {
        let rig = SparseRig(method: .set, alpha: 0.5), twin = SparseRig(method: .set, alpha: 0.5)
        rig.train(1...4)
        twin.train(1...4)
        let layer = rig.layers[1]
        let before = rig.state(layer)
        twin.optimizerStepOnly(dense: false)
        let stepped = twin.state(twin.layers[1])
        #expect(Set(stepped.keys) == Set(before.keys))
        rig.train(5...5)
        let after = rig.state(layer)
        let k = Int(0.5 * Double(before.count))
        #expect(before.count == 13 && k == 6) // 64 - floor(0.8 * 64) = 13 active weights
        let (kept, grown) = checkDropAndGrow(weights: stepped.mapValues(\.w), after: after, k: k, score: nil, total: 64)
        #expect(grown.isDisjoint(with: kept))
        for i in kept { #expect(after[i]!.w.bitPattern == stepped[i]!.w.bitPattern && after[i]!.v.bitPattern == stepped[i]!.v.bitPattern) }
        #expect(kept.filter { after[$0]!.w != before[$0]!.w }.count > kept.count / 2, "the optimizer step did not move the kept weights")
    }

    /// SNFS: after the optimizer step, drop the k smallest |w|; grow the k largest |m| of the
    /// moving average m = beta m + (1 - beta) g of the dense gradients, recomputed here from
    /// the averages before the step and the step's dense gradient.
    @Test func snfsGrowsByMomentumAfterTheOptimizerStep() {
        let rig = SparseRig(method: .snfs), twin = SparseRig(method: .snfs)
        rig.train(1...4)
        twin.train(1...4)
        let dynamic = rig.step.policy as! SNFS
        #expect(dynamic.averages.count == 2)
        let averagesBefore = dynamic.averages
        let gradients = twin.optimizerStepOnly(dense: true)
        let beta: Float = 0.9
        let expected: [[Float]] = rig.layers.enumerated().map { l, layer in
            zip(averagesBefore[l], gradients[layer.weightIndex]!).map { beta * $0 + (1 - beta) * $1 }
        }
        let before = rig.layers.map(rig.state)
        let stepped = twin.layers.map(twin.state)
        rig.train(5...5)
        #expect(dynamic.averages == expected)
        for (l, layer) in rig.layers.enumerated() {
            let after = rig.state(layer)
            let total = layer.inputFeatures * layer.outputFeatures
            let k = Int(0.3 * Double(before[l].count))
            let m = expected[l]
            let (kept, _) = checkDropAndGrow(weights: stepped[l].mapValues(\.w), after: after, k: k, score: { m[$0] }, total: total)
            for i in kept { #expect(after[i]!.w.bitPattern == stepped[l][i]!.w.bitPattern && after[i]!.v.bitPattern == stepped[l][i]!.v.bitPattern) }
            #expect(kept.filter { after[$0]!.w != before[l][$0]!.w }.count > kept.count / 2, "the optimizer step did not move the kept weights")
        }
    }

    /// SNFS redistribution by hand. Layers of 20, 10 and 9 connections with 8, 6 and 6
    /// active, dropping 4, 2 and 3 (9 to regrow); free connections 20 - 4 = 16,
    /// 10 - 4 = 6, 9 - 3 = 6. The averages outside the active sets are large, to show
    /// they are ignored.
    @Test func snfsRedistributionSharesByMeanMomentum() {
        let layers = [SparseLinear(inputFeatures: 5, outputFeatures: 4, pattern: .dense(rows: 4, cols: 5)),
                      SparseLinear(inputFeatures: 5, outputFeatures: 2, pattern: .dense(rows: 2, cols: 5)),
                      SparseLinear(inputFeatures: 3, outputFeatures: 3, pattern: .dense(rows: 3, cols: 3))]
        let drops = [LayerDrop(active: Array(0..<8), dropped: [0, 1, 2, 3]), LayerDrop(active: Array(2..<8), dropped: [2, 3]),
                     LayerDrop(active: Array(3..<9), dropped: [3, 4, 5])]
        let dynamic = SNFS(schedule: DropFractionSchedule(shape: .constant, alpha: 0.3, end: 10), seed: 1, redistribute: true)
        /// Averages whose mean |m| over the active set is `means[l]` (signs alternate).
        func set(means: [Float]) {
            dynamic.averages = zip(layers, drops).enumerated().map { l, pair in
                var m = [Float](repeating: 100, count: pair.0.inputFeatures * pair.0.outputFeatures)
                for (q, i) in pair.1.active.enumerated() { m[i] = (q % 2 == 0 ? 1 : -1) * means[l] * (q % 2 == 0 ? 0.5 : 1.5) }
                return m
            }
        }
        // means (1, 2, 0.5), sum 3.5: ideal shares 9 (1, 2, 0.5) / 3.5 = (2.57, 5.14, 1.29);
        // floors (2, 5, 1) leave 1, which goes to the largest remainder (0.57, layer 0)
        set(means: [1, 2, 0.5])
        #expect(dynamic.redistributedGrowth(layers: layers, drops: drops) == [3, 5, 1])
        // means (1, 10, 1): ideal (0.75, 7.5, 0.75); layer 1 is capped at its 6 free
        // connections: (0, 6, 0), 3 left; remainders 0.75 and 0.75 tie, the lower layer first:
        // layer 0 (1), then layer 2 (0.75 > -0.25), then layer 0 again (-0.25 = -0.25): (2, 6, 1)
        set(means: [1, 10, 1])
        #expect(dynamic.redistributedGrowth(layers: layers, drops: drops) == [2, 6, 1])
        // no momentum anywhere: every layer regrows what it dropped
        set(means: [0, 0, 0])
        #expect(dynamic.redistributedGrowth(layers: layers, drops: drops) == [4, 2, 3])
    }

    /// SNFS with redistribution moves budget between layers but keeps the total, and no
    /// layer exceeds its size.
    @Test func snfsRedistributionKeepsTheTotal() {
        let rig = SparseRig(method: .snfs, alpha: 0.5, redistribute: true)
        let before = rig.layers.map(\.pattern.activeCount)
        var seen: Set<[Int]> = [before]
        for block in 0..<6 {
            rig.train((block * 5 + 1)...(block * 5 + 5))
            let counts = rig.layers.map(\.pattern.activeCount)
            #expect(counts.reduce(0, +) == before.reduce(0, +))
            #expect(counts[0] <= 320 && counts[1] <= 64)
            #expect(rig.model.store.count == counts.reduce(0, +) + 20)
            seen.insert(counts)
        }
        #expect(seen.count > 1, "the budget never moved")
    }


    /// Between mask updates a sparse model holds no dense gradient memory.
    @Test func noDenseGradientMemoryBetweenUpdates() {
        let rig = SparseRig(method: .rigl)
        rig.train(1...5)
        // two buffers of every gradient, the loss sum and the stop vote (log2(2 micro-batches) + 1),
        // no dense ones
        #expect(rig.step.tree.bytes == 2 * (rig.model.store.count + 2) * 4)
    }
}
