import Foundation
import MPI
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

private let lenet = ModelArchitecture.zoo["lenet-300-100"]!.weightShapes
private let wide = ModelArchitecture.zoo["mlp-wide"]!.weightShapes

private func activeCounts(_ shapes: [SparsityDistribution.LayerShape], _ sparsities: [Double]) -> [Int] {
    zip(shapes, sparsities).map { SparsityDistribution.activeCount(count: $0.count, sparsity: $1) }
}

@Suite struct DistributionTests {
    @Test func uniformAndOverrides() {
        #expect(SparsityDistribution.uniform.sparsities(of: lenet, sparsity: 0.9) == [0.9, 0.9, 0.9])
        #expect(SparsityDistribution.uniform.sparsities(of: lenet, sparsity: 0.98, overrides: ["fc2": 0.882, "fc3": 0]) == [0.98, 0.882, 0])
        #expect(activeCounts(lenet, [0.98, 0.882, 0]) == [4704, 3540, 1000])
    }

    /// ERK for the two MLPs, computed independently (by hand for LeNet-300-100 at 0.9:
    /// raw densities 1084/235200, 400/30000, 110/1000; eps = 26620/1594 makes fc3 exceed 1,
    /// so fc3 is dense and eps = (26520 - 900)/1484 = 17.2642).
    @Test(arguments: [
        (0.9, "lenet", [18715, 6906, 1000]),
        (0.98, "lenet", [3621, 1337, 368]),
        (0.9, "wide", [229553, 332009, 20480]),
        (0.98, "wide", [39214, 56716, 20480]),
    ])
    func erkMatchesHandComputedBudgets(sparsity: Double, model: String, expected: [Int]) {
        let shapes = model == "lenet" ? lenet : wide
        for distribution in [SparsityDistribution.erk, .er] { // equal for fully connected layers
            let s = distribution.sparsities(of: shapes, sparsity: sparsity)
            let counts = activeCounts(shapes, s)
            #expect(counts == expected, "\(distribution) \(model) \(sparsity)")
            let target = (1 - sparsity) * Double(shapes.reduce(0) { $0 + $1.count })
            #expect(abs(Double(counts.reduce(0, +)) - target) <= Double(shapes.count), "budget \(counts.reduce(0, +)) vs \(target)")
        }
    }

    /// ERK on LeNet-5's kernels (6x1x5x5, 16x6x5x5) and fc layers (120x400, 84x120, 10x84),
    /// by hand. Raw densities sum(shape)/prod(shape): 17/150, 32/2400, 520/48000,
    /// 204/10080, 94/840; sum p N = 17 + 32 + 520 + 204 + 94 = 867. At 0.9 the budget is
    /// 0.1 * 61470 = 6147, eps = 6147/867 = 7.0900 and nothing exceeds 1: conv1 keeps
    /// 150 - floor(150 (1 - 7.09 * 17/150)) = 150 - floor(29.47) = 121, conv2
    /// 2400 - floor(2173.1) = 227, then 3687, 1447 and 667. At 0.8, eps = 12294/867 = 14.18
    /// makes conv1 dense (1.61), then eps = (0.2 * 61320 - 0.8 * 150)/850 = 14.29 makes fc3
    /// dense (1.60), then eps = (0.2 * 60480 - 0.8 * 990)/756 = 14.952: conv2 keeps
    /// 2400 - floor(0.80063 * 2400) = 479.
    @Test func erkForConvolutionKernels() {
        let lenet5 = ModelArchitecture.zoo["lenet-5"]!.weightShapes
        #expect(lenet5.map(\.shape) == [[6, 1, 5, 5], [16, 6, 5, 5], [120, 400], [84, 120], [10, 84]])
        let s9 = SparsityDistribution.erk.sparsities(of: lenet5, sparsity: 0.9)
        #expect(abs(s9[0] - (1 - 6147.0 / 867 * 17 / 150)) < 1e-12 && abs(s9[1] - (1 - 6147.0 / 867 * 32 / 2400)) < 1e-12)
        #expect(activeCounts(lenet5, s9) == [121, 227, 3687, 1447, 667])
        let s8 = SparsityDistribution.erk.sparsities(of: lenet5, sparsity: 0.8)
        #expect(s8[0] == 0 && s8[4] == 0 && abs(s8[1] - (1 - 11304.0 / 756 * 32 / 2400)) < 1e-12)
        #expect(activeCounts(lenet5, s8) == [150, 479, 7776, 3051, 840])
        #expect(activeCounts(lenet5, s8).reduce(0, +) == 12296) // the budget 12294, up to flooring
        // ER counts channels only: (6 + 1)/(6 * 1) = 7/6 and 22/96 put both kernels' raw
        // densities above the fc layers', and the loop makes them dense
        let er = SparsityDistribution.er.sparsities(of: lenet5, sparsity: 0.9)
        #expect(er[0] == 0 && er[1] == 0 && er.dropFirst(2).allSatisfy { $0 > 0 })
    }

    /// Overrides fix their layers outside the budget; the others re-solve ERK for
    /// (1 - S) of their own size. conv1 at 0.5 and fc3 dense at S = 0.9: conv2, fc1, fc2
    /// share 0.1 * 60480 = 6048 with eps = 6048 / (32 + 520 + 204) = 8: densities 8 * 32/2400,
    /// 8 * 520/48000, 8 * 204/10080, i.e. 256, 4160 and 1632 weights (6048 in all).
    @Test func erkWithOverridesResolvesTheRest() {
        let lenet5 = ModelArchitecture.zoo["lenet-5"]!.weightShapes
        let s = SparsityDistribution.erk.sparsities(of: lenet5, sparsity: 0.9, overrides: ["conv1": 0.5, "fc3": 0])
        #expect(s[0] == 0.5 && s[4] == 0)
        let counts = activeCounts(lenet5, s)
        #expect(counts == [75, 256, 4160, 1632, 840])
        #expect(counts[1...3].reduce(0, +) == 6048)
        // without the overrides conv2 had 227 of the shared budget
        #expect(activeCounts(lenet5, SparsityDistribution.erk.sparsities(of: lenet5, sparsity: 0.9))[1] == 227)
        // an override of an fc layer under uniform leaves the others at S
        #expect(SparsityDistribution.uniform.sparsities(of: lenet5, sparsity: 0.9, overrides: ["fc1": 0.5]) == [0.9, 0.9, 0.5, 0.9, 0.9])
    }

    @Test func erkLoopMakesOverfullLayersDense() {
        let s = SparsityDistribution.erk.sparsities(of: lenet, sparsity: 0.9)
        #expect(s[2] == 0)
        #expect(abs(s[0] - 0.920432) < 1e-6 && abs(s[1] - 0.769811) < 1e-6)
    }
}

@Suite struct ScheduleAndFLOPsTests {
    @Test func dropFractionSchedule() {
        let s = DropFractionSchedule(shape: .cosine, alpha: 0.3, deltaT: 100, begin: 0, end: 1000)
        #expect([0, 100, 150, 1000, 1100].map(s.isUpdateStep) == [false, true, false, true, false])
        let fractions: [Double] = [0, 500, 1000].map { s.fraction(at: $0) }
        #expect(abs(fractions[0] - 0.3) < 1e-12)
        #expect(abs(fractions[1] - 0.15) < 1e-12)
        #expect(abs(fractions[2]) < 1e-12)
        #expect(s.count(at: 500, active: 1001) == 150)
        #expect(DropFractionSchedule(shape: .constant, alpha: 0.3, end: 10).fraction(at: 7) == 0.3)
        let e = DropFractionSchedule(shape: .exponential, alpha: 0.4, deltaT: 10, begin: 0, end: 100, decay: 0.5)
        #expect(abs(e.fraction(at: 20) - 0.1) < 1e-12)
    }

    /// RigL's per-step cost with an update every dT steps is (3 f_S dT + 2 f_S + f_D) / (dT + 1).
    @Test func rigLTrainingFLOPs() {
        var f = TrainingFLOPs(denseForward: 1000)
        for t in 0...100 { f.addStep(examples: 10, sparseForward: 50, denseGradient: t == 100) }
        let perStep: Double = (3.0 * 50 * 100 + 2 * 50 + 1000) / 101
        let expectedTotal: Double = perStep * 1010
        #expect(abs(f.total - expectedTotal) < 1e-6)
        #expect(abs(f.relativeToDense - perStep / 3000) < 1e-12)
    }

    @Test func gradualPruningSchedule() {
        let g = GradualMagnitudePruning(finalSparsities: [0.9], begin: 100, end: 1100, deltaT: 100, seed: 1)
        #expect(g.sparsity(layer: 0, at: 100) == 0)
        #expect(abs(g.sparsity(layer: 0, at: 600) - 0.9 * (1 - 0.125)) < 1e-12)
        #expect(g.sparsity(layer: 0, at: 1100) == 0.9)
        #expect(g.sparsity(layer: 0, at: 5000) == 0.9)
        #expect([200, 250, 1200].map(g.isPruningStep) == [true, false, false])
    }
}

/// A two-layer sparse model with its training step, on random data.
private final class SparseRig {
    let model: Sequential
    let step: TrainingStep
    let x: [Matrix]
    let labels: [[Int32]]

    init(method: SparseTrainingMethod, deltaT: Int = 5, alpha: Double = 0.3, sparsity: Double = 0.8, redistribute: Bool = false) {
        let arch = ModelArchitecture.mlp(sizes: [20, 16, 4])
        model = Sequential(layers: arch.makeLayers(sparsities: [sparsity, sparsity], seed: 2), auxiliaryCount: 1)
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
        let v = (step.optimizer as! SGD).velocity + model.store.offsets[layer.weightIndex]
        let w = layer.activeWeights
        return Dictionary(uniqueKeysWithValues: layer.pattern.activeIndices.enumerated().map { ($1, (w[$0], v[$0])) })
    }

    /// Step t's gradients and optimizer step, without a mask update (what SET and SNFS do
    /// before theirs); returns the step's dense gradients (by store tensor) when `dense`.
    @discardableResult
    func optimizerStepOnly(dense: Bool) -> [Int: [Float]] {
        step.accumulateGradients(inputs: x, labels: labels, dense: dense)
        var gradients: [Int: [Float]] = [:]
        if dense {
            for layer in layers {
                let n = layer.inputFeatures * layer.outputFeatures
                gradients[layer.weightIndex] = Array(UnsafeBufferPointer(start: model.store.slot(layer.weightIndex).denseGradients!, count: n))
            }
        }
        step.optimizer.step(lr: 0.05)
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
        rig.step.accumulateGradients(inputs: rig.x, labels: rig.labels, dense: true)
        let dense = Array(UnsafeBufferPointer(start: rig.model.store.slot(layer.weightIndex).denseGradients!, count: 320))
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
        let drops: [(active: [Int], dropped: [Int])] = [(Array(0..<8), [0, 1, 2, 3]), (Array(2..<8), [2, 3]), (Array(3..<9), [3, 4, 5])]
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

    @Test func storeRemapAndResizeKeepValuesAndState() {
        let store = ParameterStore(specs: [ParameterSpec(name: "a", shape: [3], decays: false),
                                           ParameterSpec(name: "w", shape: [4], decays: true, isSparse: true),
                                           ParameterSpec(name: "b", shape: [2], decays: false)], auxiliaryCount: 1)
        let state = store.addState()
        for i in 0..<9 {
            store.values[i] = Float(i)
            store.states[state][i] = Float(10 * i)
        }
        store.remap(1, source: [3, nil, 0, 1])
        #expect(store.valuesArray(1) == [6, 0, 3, 4])
        #expect(Array(UnsafeBufferPointer(start: store.states[state] + 3, count: 4)) == [60, 0, 30, 40])
        store.resize(1, source: [0, 3])
        #expect(store.count == 7 && store.offsets == [0, 3, 5] && store.layoutVersion == 1)
        #expect(store.valuesArray(0) == [0, 1, 2] && store.valuesArray(1) == [6, 4] && store.valuesArray(2) == [7, 8])
        #expect(Array(UnsafeBufferPointer(start: store.states[state], count: 7)) == [0, 10, 20, 60, 40, 70, 80])
    }

    /// Gradual pruning shrinks layers to the target counts while training continues.
    @Test func gradualPruningReachesTheTargets() {
        let arch = ModelArchitecture.mlp(sizes: [20, 16, 4])
        let model = Sequential(layers: arch.makeLayers(sparsities: [0.75, 0.5], seed: 2, denseStart: [0, 1]), auxiliaryCount: 1)
        model.initialize(.glorotUniform, seed: 2)
        #expect(model.store.count == 320 + 16 + 64 + 4)
        let pruning = GradualMagnitudePruning(finalSparsities: [0.75, 0.5], begin: 2, end: 10, deltaT: 2, seed: 1)
        let step = TrainingStep(model: model, optimizer: SGD(store: model.store, settings: SGD.Settings()),
                                replicas: .single(), globalBatch: 4, microbatches: 2, policy: pruning)
        var random = StatelessRandom(seed: 5, purpose: .shuffle)
        let x = (0..<2).map { _ -> Matrix in
            let m = Matrix(rows: 20, cols: 2)
            for i in 0..<m.count { m.data[i] = random.nextNormal() }
            return m
        }
        for t in 1...12 { step(inputs: x, labels: [[0, 1], [2, 3]], learningRate: 0.01, step: t) }
        let layers = model.sparseLayers.map(\.layer)
        #expect(layers.map(\.pattern.activeCount) == [80, 32])
        #expect(model.store.count == 80 + 16 + 32 + 4)
        #expect(step.maskUpdates == 5)
        #expect(layers.allSatisfy { l in l.activeWeights.allSatisfy { $0.isFinite } })
    }

    /// The dense gradient (by store tensor) of a fully dense copy of `model`'s architecture
    /// with the same initial weights, summed over the micro-batches, and its weights.
    private func denseNetworkGradients(_ arch: ModelArchitecture, seed: UInt64, initializer: WeightInitializer,
                                       batches: [(Matrix, [Int32])], scale: Float) -> (gradients: [[Float]], weights: [[Float]]) {
        let dense = Sequential(layers: arch.makeLayers(seed: seed))
        dense.initialize(initializer, seed: seed)
        let loss = SoftmaxCrossEntropy()
        var sum = [Float](repeating: 0, count: dense.store.count)
        for (x, labels) in batches {
            let (_, dz) = loss(dense.forward(x), labels: labels, gradientScale: scale)
            dense.backward(dz!)
            for i in sum.indices { sum[i] += dense.store.gradients[i] }
        }
        let tensors = dense.store.specs.indices
        return (tensors.map { t in Array(sum[dense.store.offsets[t]..<(dense.store.offsets[t] + dense.store.specs[t].count)]) },
                tensors.map { dense.store.valuesArray($0) })
    }

    /// The n positions of largest |g w|, as a threshold: (must keep, may keep).
    private func topSaliency(_ g: [Float], _ w: [Float], n: Int, band: Float = 0) -> (must: Set<Int>, may: Set<Int>) {
        let s = zip(g, w).map { abs($0 * $1) }
        let threshold = s.sorted(by: >)[n - 1]
        return (Set(s.indices.filter { s[$0] > threshold * (1 + band) }), Set(s.indices.filter { s[$0] >= threshold * (1 - band) }))
    }

    /// Gradual pruning at step 4 of a schedule from 2 to 10 (every 2 steps) towards 0.75 and
    /// 0.5: s = s_f (1 - (1 - 2/8)^3) = s_f 0.578125, i.e. 0.43359375 of 320 (138.75 ->
    /// 138 zeros, 182 kept) and 0.2890625 of 64 (18.5 -> 18 zeros, 46 kept). Step 2 pruned
    /// nothing (s = 0), so the layers drop 138 and 18: the smallest |w| after step 4's
    /// optimizer step (taken alone by a twin), kept weights unchanged.
    @Test func gradualPruningDropsTheSmallestWeights() {
        func make() -> (Sequential, TrainingStep) {
            let arch = ModelArchitecture.mlp(sizes: [20, 16, 4])
            let model = Sequential(layers: arch.makeLayers(sparsities: [0.75, 0.5], seed: 2, denseStart: [0, 1]), auxiliaryCount: 1)
            model.initialize(.glorotUniform, seed: 2)
            let pruning = GradualMagnitudePruning(finalSparsities: [0.75, 0.5], begin: 2, end: 10, deltaT: 2, seed: 1)
            return (model, TrainingStep(model: model, optimizer: SGD(store: model.store, settings: SGD.Settings()),
                                        replicas: .single(), globalBatch: 4, microbatches: 2, policy: pruning))
        }
        var random = StatelessRandom(seed: 5, purpose: .shuffle)
        let x = (0..<2).map { _ -> Matrix in
            let m = Matrix(rows: 20, cols: 2)
            for i in 0..<m.count { m.data[i] = random.nextNormal() }
            return m
        }
        let labels: [[Int32]] = [[0, 1], [2, 3]]
        let (model, step) = make(), (twin, twinStep) = make()
        for t in 1...3 {
            step(inputs: x, labels: labels, learningRate: 0.01, step: t)
            twinStep(inputs: x, labels: labels, learningRate: 0.01, step: t)
        }
        #expect(model.sparseLayers.map(\.layer.pattern.activeCount) == [320, 64] && step.maskUpdates == 1)
        twinStep.accumulateGradients(inputs: x, labels: labels, dense: false)
        twinStep.optimizer.step(lr: 0.01)
        twinStep.tree.endStep()
        step(inputs: x, labels: labels, learningRate: 0.01, step: 4)
        let pruning = step.policy as! GradualMagnitudePruning
        for (l, (k, kept)) in zip([138, 18], [182, 46]).enumerated() {
            let total = [320, 64][l]
            #expect(SparsityDistribution.activeCount(count: total, sparsity: pruning.sparsity(layer: l, at: 4)) == kept)
            let stepped = twin.sparseLayers[l].layer, pruned = model.sparseLayers[l].layer
            let w = Array(stepped.activeWeights) // dense layer: position = flat index
            let order = w.indices.sorted { abs(w[$0]) < abs(w[$1]) }
            #expect(abs(w[order[k]]) > abs(w[order[k - 1]]), "a tie at the pruning threshold")
            #expect(pruned.pattern.activeIndices == order.dropFirst(k).sorted(), "layer \(l)")
            #expect(pruned.pattern.activeIndices.enumerated().allSatisfy { p, i in pruned.activeWeights[p].bitPattern == w[i].bitPattern })
        }
    }

    /// SNIP.decide keeps the n largest |g w| of the gradient and weights it is given: with
    /// the dense network's gradient at initialisation (computed here on a dense copy with
    /// the same initial weights), exactly that network's top-n saliencies. The masked
    /// network's gradient ranks differently, so handing it over would fail this test.
    @Test func snipKeepsTheLargestSaliency() {
        let rig = SparseRig(method: .static)
        let store = rig.model.store
        let (g, w) = denseNetworkGradients(.mlp(sizes: [20, 16, 4]), seed: 2, initializer: .glorotUniform,
                                           batches: Array(zip(rig.x, rig.labels)), scale: 1.0 / 8)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: store.denseCount)
        defer { buffer.deallocate() }
        for layer in rig.layers { (buffer + store.denseOffsets[layer.weightIndex]).update(from: g[layer.weightIndex], count: g[layer.weightIndex].count) }
        for (l, layer) in rig.layers.enumerated() {
            #expect(layer.initialDenseWeights(.glorotUniform, seed: 2, layerIndex: 2 * l) == w[layer.weightIndex], "the dense copy starts elsewhere")
        }
        // the masked network's dense gradient, for comparison
        rig.step.accumulateGradients(inputs: rig.x, labels: rig.labels, dense: true)
        let masked = rig.layers.map { Array(UnsafeBufferPointer(start: store.slot($0.weightIndex).denseGradients!, count: $0.inputFeatures * $0.outputFeatures)) }
        rig.step.tree.endStep()
        store.redirectDenseGradients(to: buffer)
        let diffs = SNIP.decide(layers: rig.layers, store: store, budgets: rig.layers.map(\.pattern.activeCount), seed: 1) {
            w[rig.layers[$0].weightIndex]
        }
        store.redirectDenseGradients(to: nil)
        for (l, layer) in rig.layers.enumerated() {
            let n = layer.pattern.activeCount
            let old = Set(layer.pattern.activeIndices)
            layer.apply(diffs[l])
            let keep = Set(layer.pattern.activeIndices)
            #expect(keep.count == n)
            let expected = topSaliency(g[layer.weightIndex], w[layer.weightIndex], n: n)
            #expect(expected.must.isSubset(of: keep) && keep.isSubset(of: expected.may), "layer \(l)")
            #expect(keep != old)
            let wrong = topSaliency(masked[l], w[layer.weightIndex], n: n)
            #expect(wrong.may != expected.may, "layer \(l): the masked gradient ranks the same; the test cannot tell them apart")
        }
    }

    /// SNIP end to end (the trainer's one shot before step 1): the kept connections are the
    /// top |g w| of the *dense* network at initialisation on the first batch.
    @Test func snipInTheTrainerUsesTheDenseNetworksGradient() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10)
        var config = try TrainingConfig.parse(text: """
            model: {mlp: [64, 16, 4]}
            batch_size: 20
            microbatches: 1
            max_steps: 1
            sparsity: {method: snip, sparsity: 0.8}
            """, source: "t.yaml")
        config.data = dir.path
        let trainer = try Trainer(config: config, replicas: .single(), data: try MNISTData(directory: dir.path, classes: 4))
        let x = Matrix(rows: 64, cols: 20)
        var labels: [Int32] = []
        trainer.data.train.gather(trainer.plan.localIndices(trainer.plan.order(epoch: 1), batch: 0), normalization: trainer.normalization,
                                  into: x, labels: &labels)
        let (g, w) = denseNetworkGradients(config.model, seed: config.seed, initializer: config.initializer, batches: [(x, labels)],
                                           scale: 1.0 / 20)
        try trainer.train { _ in }
        for (l, (_, layer)) in trainer.model.sparseLayers.enumerated() {
            let keep = Set(layer.pattern.activeIndices)
            #expect(keep.count == [205, 13][l], "layer \(l) keeps its budget")
            // float sums in another order may swap near-equal scores at the threshold
            let expected = topSaliency(g[layer.weightIndex], w[layer.weightIndex], n: keep.count, band: 1e-4)
            #expect(expected.must.isSubset(of: keep) && keep.isSubset(of: expected.may),
                    "layer \(l): \(keep.subtracting(expected.may).count) kept outside the dense network's top saliencies")
        }
    }

    /// Between mask updates a sparse model holds no dense gradient memory.
    @Test func noDenseGradientMemoryBetweenUpdates() {
        let rig = SparseRig(method: .rigl)
        rig.train(1...5)
        #expect(rig.model.store.denseGradients == nil)
        #expect(rig.step.tree.bytes == 2 * rig.model.store.gradientLength * 4)
    }
}
