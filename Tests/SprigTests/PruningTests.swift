import Foundation
import MPI
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

/// Pruning: gradual magnitude pruning, SNIP, and the store changes they make.
@Suite struct PruningTests {
    @Test func storeRemapAndResizeKeepValuesAndState() {
        let store = ParameterStore(specs: [ParameterSpec(name: "a", shape: [3], decays: false),
                                           ParameterSpec(name: "w", shape: [4], decays: true, isSparse: true),
                                           ParameterSpec(name: "b", shape: [2], decays: false)])
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
        let model = Sequential(layers: arch.makeLayers(sparsities: [0.75, 0.5], seed: 2, denseStart: [0, 1]))
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
            let g = dense.backwardGradients(dz!)
            for i in sum.indices { sum[i] += g[i] }
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
            let model = Sequential(layers: arch.makeLayers(sparsities: [0.75, 0.5], seed: 2, denseStart: [0, 1]))
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
        let reduced = twinStep.accumulateGradients(inputs: x, labels: labels, dense: false)
        twinStep.optimizer.step(lr: 0.01, gradients: reduced.gradients)
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
            var random = StatelessRandom(seed: 2, purpose: .weightInit, layer: 2 * l)
            var dense = [Float](repeating: 0, count: layer.inputFeatures * layer.outputFeatures)
            WeightInitializer.glorotUniform.fill(&dense, count: dense.count, fanIn: layer.inputFeatures, fanOut: layer.outputFeatures, random: &random)
            #expect(dense == w[layer.weightIndex], "the dense copy starts elsewhere")
        }
        // the masked network's dense gradient, for comparison
        let reduced = rig.step.accumulateGradients(inputs: rig.x, labels: rig.labels, dense: true)
        let masked = rig.layers.map {
            Array(UnsafeBufferPointer(start: store.slot($0.weightIndex).denseGradients(in: reduced.buffers)!, count: $0.inputFeatures * $0.outputFeatures))
        }
        rig.step.tree.endStep()
        let context = MaskContext(layers: rig.layers, store: store, step: 0, denseGradients: buffer)
        let diffs = SNIP.decide(context, budgets: rig.layers.map(\.pattern.activeCount), seed: 1) {
            w[rig.layers[$0].weightIndex]
        }
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
        config.data.path = dir.path
        let trainer = try Trainer(config: config, replicas: .single(), data: try DataSource(path: dir.path, classes: 4).load())
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
}
