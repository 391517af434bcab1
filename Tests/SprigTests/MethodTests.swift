import Foundation
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

/// A three-layer MLP (20-16-12-4) whose sparse layers start as a method needs (dense for
/// those that start dense), with the method's initial masks drawn as `Trainer` draws them,
/// and its training step on random data.
final class MethodRig {
    let model: Sequential
    let step: TrainingStep
    let policy: MaskPolicy
    let x: [Matrix]
    let labels: [[Int32]]

    init(_ make: (DropFractionSchedule, [Int], [Double]) -> MaskPolicy, startsDense: Bool, sparsity: Double = 0.8,
         deltaT: Int = 5) {
        let arch = ModelArchitecture.mlp(sizes: [20, 16, 12, 4])
        model = Sequential(layers: arch.makeLayers(sparsities: [sparsity, sparsity, sparsity], seed: 2,
                                                   denseStart: startsDense ? [0, 1, 2] : []))
        model.initialize(.glorotUniform, seed: 2)
        let sgd = SGD(store: model.store, settings: SGD.Settings(momentum: 0.9, nesterov: true, weightDecay: 0))
        let schedule = DropFractionSchedule(shape: .constant, alpha: 0.3, deltaT: deltaT, end: 1000)
        let budgets = [20 * 16, 16 * 12, 12 * 4].map { SparsityDistribution.activeCount(count: $0, sparsity: sparsity) }
        policy = make(schedule, budgets, [sparsity, sparsity, sparsity])
        step = TrainingStep(model: model, optimizer: sgd, replicas: .single(), globalBatch: 8, microbatches: 2, policy: policy)
        let layers = model.sparseLayers.map(\.layer)
        if policy.drawsInitialMasks {
            let diffs = policy.initialMasks(layers)
            step.synchronizer.apply(to: layers) { diffs }
            if policy.reinitialisesWeights { model.initialize(.glorotUniform, seed: 2) }
            policy.settle(layers)
        }
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

    /// Active weights per row of `layer`.
    func rowCounts(_ layer: SparseLinear) -> [Int] {
        (0..<layer.outputFeatures).map { Int(layer.pattern.rowStart[$0 + 1] - layer.pattern.rowStart[$0]) }
    }
}

@Suite struct MethodTests {
    /// SRigL starts with k_0 = floor(B / rows) weights in every row, and after each update
    /// every row that is not ablated has exactly k = floor(B / (rows - ablated)) and the
    /// ablated rows none; the classifier keeps every row.
    @Test func sriglKeepsAConstantFanIn() {
        let rig = MethodRig({ schedule, budgets, _ in SRigL(schedule: schedule, seed: 3, budgets: budgets, gammaSal: 0.9) }, startsDense: false)
        for (l, layer) in rig.layers.enumerated() {
            let budget = (rig.policy as! SRigL).budgets[l]
            #expect(Set(rig.rowCounts(layer)) == [budget / layer.outputFeatures], "layer \(l) starts at constant fan-in")
        }
        var sawAblation = false
        for update in 1...6 {
            rig.train((5 * update - 4)...(5 * update))
            for (l, layer) in rig.layers.enumerated() {
                let counts = rig.rowCounts(layer)
                let ablated = counts.filter { $0 == 0 }.count
                let k = min((rig.policy as! SRigL).budgets[l] / (layer.outputFeatures - ablated), layer.inputFeatures)
                #expect(counts.allSatisfy { $0 == 0 || $0 == k }, "layer \(l) after update \(update): \(counts), k \(k)")
                if l == 2 { #expect(ablated == 0, "the classifier is never ablated") }
                sawAblation = sawAblation || ablated > 0
            }
        }
        #expect(sawAblation, "gamma_sal 0.9 ablates some neuron of the hidden layers in 6 updates")
    }

    /// Top-KAST: the mask is B (D_B = 2 D), the model holds the top D N weights of B by
    /// |theta| and zeros elsewhere in B; training changes theta at B \ A while the model's
    /// weights there stay zero; and its state survives a round trip.
    @Test func topkastForwardSetIsTheTopOfItsBackwardSet() {
        // At 90%, B (20%) is below the dense-math density: the layers run on the sparse kernels.
        let rig = MethodRig({ schedule, _, finals in TopKAST(schedule: schedule, seed: 3, forwardDensities: finals.map { 1 - $0 }, explorationDecay: 1e-3) },
                            startsDense: true, sparsity: 0.9)
        let policy = rig.policy as! TopKAST
        func check(_ when: String) {
            for (l, layer) in rig.layers.enumerated() {
                let (forward, backward) = policy.counts(l, layer)
                #expect(layer.pattern.activeCount == backward, "\(when): layer \(l) masks its backward set")
                let w = layer.activeWeights, positions = layer.pattern.activeIndices
                let nonzero = positions.indices.filter { w[$0] != 0 }
                #expect(nonzero.count == forward, "\(when): layer \(l) has \(nonzero.count) forward weights, not \(forward)")
                let smallestForward = nonzero.map { abs(policy.theta[l][positions[$0]]) }.min()!
                let largestHidden = positions.indices.filter { w[$0] == 0 }.map { abs(policy.theta[l][positions[$0]]) }.max() ?? 0
                #expect(smallestForward >= largestHidden, "\(when): layer \(l): A is the top of B by |theta|")
            }
        }
        check("initially")
        let before = policy.theta
        rig.train(1...4)
        let hiddenMoved = rig.layers.indices.contains { l in
            zip(rig.layers[l].pattern.activeIndices, policy.hidden[l]).contains { p, hidden in hidden && policy.theta[l][p] != before[l][p] }
        }
        #expect(hiddenMoved, "training moves theta at B \\ A")
        #expect(rig.layers.allSatisfy { layer in
            let l = rig.layers.firstIndex { $0 === layer }!
            return policy.hidden[l].indices.allSatisfy { !policy.hidden[l][$0] || layer.activeWeights[$0] == 0 }
        }, "weights of B \\ A stay zero in the model between updates")
        rig.train(5...5)
        check("after an update")
        // The layers multiply by A alone (their forward sets); by all of B, the same bits.
        #expect(rig.layers.allSatisfy { !$0.usesDenseMath })
        let onA = Array(UnsafeBufferPointer(start: rig.model.forward(rig.x[0]).data, count: 4 * 4))
        for layer in rig.layers { layer.setForwardSet(nil) }
        let onB = Array(UnsafeBufferPointer(start: rig.model.forward(rig.x[0]).data, count: 4 * 4))
        #expect(onA.map(\.bitPattern) == onB.map(\.bitPattern), "the forward pass over A is the one over B")
        policy.declareForwardSets(rig.layers)
        let state = policy.state
        #expect(state.map(\.count) == policy.stateCounts(rig.layers))
        let copy = TopKAST(schedule: policy.schedule, seed: 3, forwardDensities: policy.forwardDensities)
        copy.state = state
        #expect(copy.theta == policy.theta && copy.hidden == policy.hidden, "the state round-trips through a checkpoint's buffers")
        #expect(abs(policy.forwardShare(0) - Double(policy.counts(0, rig.layers[0]).forward) / Double(rig.layers[0].pattern.activeCount)) < 1e-12)
    }

    /// GraNet prunes all sparse layers together, from the initial sparsity to the final one
    /// by the end of its schedule, and regrows on each pruning step as many connections as
    /// it dropped beyond the pruning.
    @Test func granetPrunesGloballyAndRegrows() {
        let sizes = [20 * 16, 16 * 12, 12 * 4]
        let rig = MethodRig({ schedule, _, finals in
            GraNet(drops: schedule, pruning: CubicSparsitySchedule(begin: 0, end: 30, deltaT: 5), initialSparsities: [0.5, 0.5, 0.5],
                   finalSparsities: finals, seed: 3)
        }, startsDense: true)
        let total = sizes.reduce(0, +)
        let start = rig.layers.reduce(0) { $0 + $1.pattern.activeCount }
        #expect(start == sizes.reduce(0) { $0 + SparsityDistribution.activeCount(count: $1, sparsity: 0.5) }, "starts at 50%")
        var previous = start
        for update in 1...6 {
            let policy = rig.policy as! GraNet
            rig.train((5 * update - 4)...(5 * update - 1))
            let context = MaskContext(layers: rig.layers, store: rig.model.store, step: 5 * update)
            let drops = policy.drops(context)!
            rig.train((5 * update)...(5 * update))
            let now = rig.layers.reduce(0) { $0 + $1.pattern.activeCount }
            let target = SparsityDistribution.activeCount(
                count: total, sparsity: policy.pruning.sparsity(at: 5 * update, initial: 0.5, final: 0.8))
            #expect(now == target, "after pruning step \(5 * update): \(now) active, the schedule's \(target)")
            #expect(drops.contains { $0.regrown > 0 } || update == 6, "regrowth at step \(5 * update)")
            #expect(now <= previous)
            previous = now
        }
        #expect(previous == SparsityDistribution.activeCount(count: total, sparsity: 0.8))
    }

    /// Every method describes itself: a unique name that `SparseTrainingMethod(name:)` finds,
    /// option defaults its own checks accept, and its options written back by the config.
    @Test func methodsDescribeThemselves() throws {
        let names = SparseTrainingMethod.all.map(\.name)
        #expect(Set(names).count == names.count)
        for method in SparseTrainingMethod.all {
            #expect(SparseTrainingMethod(name: method.name) == method)
            for option in method.options { #expect(option.check(option.defaultValue) == nil, "\(method.name).\(option.key)") }
        }
        let granet = try TrainingConfig.parse(text: "model: lenet-300-100\ndata: d\nsparsity: {method: granet, sparsity: 0.9, initial_sparsity: 0.25}\n",
                                              source: "t.yaml")
        #expect(granet.sparsity.options["initial_sparsity"] == 0.25)
        #expect(try TrainingConfig.parse(text: granet.yaml, source: "again").sparsity == granet.sparsity)
        // Another method's key is an error, except at its default (older builds wrote snfs_momentum for every method).
        #expect(throws: SprigError.self) {
            try TrainingConfig.parse(text: "model: lenet-300-100\ndata: d\nsparsity: {method: rigl, sparsity: 0.9, gamma_sal: 0.5}\n", source: "t.yaml")
        }
        _ = try TrainingConfig.parse(text: "model: lenet-300-100\ndata: d\nsparsity: {method: rigl, sparsity: 0.9, snfs_momentum: 0.9}\n",
                                     source: "t.yaml")
    }

    /// A method whose traits say it keeps each layer's count (`keepsCountPerLayer`) keeps it
    /// through six mask updates, built as the config builds it (its default options).
    @Test func methodsKeepTheCountsTheirTraitsPromise() {
        var checked: [String] = []
        for method in SparseTrainingMethod.all {
            let traits = method.traits(method.defaultOptions)
            guard traits.sparsifiesLayers, traits.changesMasks, !traits.prunesEveryLayer, traits.keepsCountPerLayer else { continue }
            let rig = MethodRig({ schedule, budgets, finals in
                method.definition.makePolicy(MethodInputs(schedule: schedule, seed: 3, budgets: budgets, prunedSparsities: finals,
                                               options: method.defaultOptions, sparsities: { s in [s, s, s] }))!
            }, startsDense: traits.startsDense)
            let before = rig.layers.map { $0.pattern.activeCount }
            let patterns = rig.layers.map { $0.pattern }
            rig.train(1...30)
            #expect(rig.layers.map { $0.pattern.activeCount } == before, "\(method.name) keeps each layer's count")
            #expect(rig.layers.map { $0.pattern } != patterns, "\(method.name) changed its masks")
            checked.append(method.name)
        }
        #expect(checked.count >= 3, "\(checked)")
    }

    /// The memory estimate reads the traits: SNFS holds the sparse layers' dense moving
    /// average and, every step, their dense gradients; Top-KAST its dense copy of the
    /// weights; gradual pruning starts with every position of its pruned layers.
    @Test func memoryEstimateFollowsTheTraits() throws {
        func estimate(_ method: String) throws -> Int {
            let c = try TrainingConfig.parse(text: "model: lenet-300-100\ndata: d\nbatch_size: 100\n"
                                             + "sparsity: {method: \(method), distribution: uniform, sparsity: 0.98}\n", source: "t.yaml")
            return MemoryEstimate(config: c, sparsities: c.sparsity.layerSparsities(c.model.weightShapes)).bytes
        }
        let positions = 784 * 300 + 300 * 100 + 100 * 10
        let statik = try estimate("static")
        #expect(try estimate("set") == statik)
        #expect(try estimate("snfs") >= statik + 4 * positions * 2)
        #expect(try estimate("topkast") >= statik + 4 * positions)
        #expect(try estimate("gmp") >= statik + 4 * positions * 4)
        #expect(try estimate("gmp") >= estimate("dense"))
    }
}
