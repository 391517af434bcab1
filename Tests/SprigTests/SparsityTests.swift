import Foundation
import MPI
import Testing
@testable import Sprig

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
        let dynamic = method.isDynamic
            ? DynamicSparsity(method: method, schedule: DropFractionSchedule(shape: .constant, alpha: alpha, deltaT: deltaT, end: 1000),
                              seed: 3, redistribute: redistribute)
            : nil
        step = TrainingStep(model: model, optimizer: sgd, communicator: SingleProcessCommunicator(), globalBatch: 8,
                            microbatches: 2, dynamic: dynamic)
        var random = StatelessRandom(seed: 5, purpose: .shuffle)
        x = (0..<2).map { _ in
            let m = Matrix(rows: 20, cols: 4)
            for i in 0..<m.count { m.data[i] = random.nextNormal() }
            return m
        }
        labels = (0..<2).map { _ in (0..<4).map { _ in Int32(random.nextInt(below: 4)) } }
    }

    var layers: [SparseLinear] { model.sparseLayers.map(\.layer) }

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

    /// RigL's sets: the k smallest |w| are dropped; the k largest |dense gradient| among
    /// connections not kept are grown; grown weights and momentum are zero.
    @Test func rigLDropsSmallestAndGrowsLargestGradient() {
        let rig = SparseRig(method: .rigl)
        rig.train(1...4)
        // step 5 updates: recompute what it should do from the state before it
        let layer = rig.layers[0]
        let activeBefore = layer.pattern.activeIndices
        let weightsBefore = Array(layer.activeWeights)
        rig.step.accumulateGradients(inputs: rig.x, labels: rig.labels, dense: true)
        let dense = Array(UnsafeBufferPointer(start: rig.model.store.slot(layer.weightIndex).denseGradients!, count: 320))
        rig.step.tree.endStep()
        let k = Int(0.3 * Double(activeBefore.count))
        let byMagnitude = zip(activeBefore, weightsBefore).sorted { abs($0.1) < abs($1.1) }
        let threshold = abs(byMagnitude[k - 1].1)
        rig.train(5...5)
        let activeAfter = Set(layer.pattern.activeIndices)
        let dropped = Set(activeBefore).subtracting(activeAfter)
        #expect(activeAfter.count == activeBefore.count)
        for (index, w) in zip(activeBefore, weightsBefore) where abs(w) > threshold {
            #expect(activeAfter.contains(index), "a weight above the drop threshold was dropped")
        }
        let kept = Set(activeBefore).subtracting(Set(byMagnitude.prefix(k).map(\.0)))
        let grown = activeAfter.subtracting(kept)
        #expect(grown.count == k)
        let candidates = (0..<320).filter { !kept.contains($0) }
        let growThreshold = candidates.map { abs(dense[$0]) }.sorted(by: >)[k - 1]
        for g in grown { #expect(abs(dense[g]) >= growThreshold) }
        // grown connections start at zero with zero momentum (the update replaced the optimizer step)
        let positions = Dictionary(uniqueKeysWithValues: layer.pattern.activeIndices.enumerated().map { ($1, $0) })
        let velocity = (rig.step.optimizer as! SGD).velocity + rig.model.store.offsets[layer.weightIndex]
        for g in grown where !Set(activeBefore).contains(g) || dropped.contains(g) {
            #expect(layer.activeWeights[positions[g]!] == 0)
            #expect(velocity[positions[g]!] == 0)
        }
        _ = dropped
    }

    /// SET grows connections that were inactive; they start at zero with zero momentum
    /// (SET's mask update follows the optimizer step, so nothing moves them this step).
    @Test func setGrowsInactiveConnectionsAtZero() {
        let rig = SparseRig(method: .set, alpha: 0.5)
        rig.train(1...4)
        let layer = rig.layers[1]
        let before = Set(layer.pattern.activeIndices)
        rig.train(5...5)
        let after = layer.pattern.activeIndices
        let newcomers = Set(after).subtracting(before)
        #expect(after.count == before.count)
        #expect(newcomers.count >= Int(0.5 * Double(before.count)) / 2)
        let velocity = (rig.step.optimizer as! SGD).velocity + rig.model.store.offsets[layer.weightIndex]
        for (p, index) in after.enumerated() where newcomers.contains(index) {
            #expect(layer.activeWeights[p] == 0 && velocity[p] == 0)
        }
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
                                communicator: SingleProcessCommunicator(), globalBatch: 4, microbatches: 2, pruning: pruning)
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

    @Test func snipKeepsTheLargestSaliency() {
        let rig = SparseRig(method: .static)
        let layer = rig.layers[0]
        rig.step.accumulateGradients(inputs: rig.x, labels: rig.labels, dense: true)
        let g = Array(UnsafeBufferPointer(start: rig.model.store.slot(layer.weightIndex).denseGradients!, count: 320))
        let w = layer.initialDenseWeights(.glorotUniform, seed: 2, layerIndex: 0)
        let diffs = SNIP.decide(layers: [layer], store: rig.model.store, seed: 1) { _ in w }
        rig.step.tree.endStep()
        layer.apply(diffs[0])
        let keep = Set(layer.pattern.activeIndices)
        let threshold = (0..<320).map { abs(g[$0] * w[$0]) }.sorted(by: >)[keep.count - 1]
        #expect(keep.allSatisfy { abs(g[$0] * w[$0]) >= threshold })
    }

    /// Between mask updates a sparse model holds no dense gradient memory.
    @Test func noDenseGradientMemoryBetweenUpdates() {
        let rig = SparseRig(method: .rigl)
        rig.train(1...5)
        #expect(rig.model.store.denseGradients == nil)
        #expect(rig.step.tree.bytes == 2 * rig.model.store.gradientLength * 4)
    }
}
