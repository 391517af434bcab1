import Foundation
import MPI
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

@Suite struct ScheduleTests {
    @Test func shapes() {
        let cosine = LearningRateSchedule(shape: .cosine(minimum: 0))
        #expect(cosine.rate(base: 1, step: 0, stepsPerEpoch: 10, totalSteps: 100) == 1)
        #expect(abs(cosine.rate(base: 1, step: 50, stepsPerEpoch: 10, totalSteps: 100) - 0.5) < 1e-12)
        #expect(cosine.rate(base: 1, step: 100, stepsPerEpoch: 10, totalSteps: 100) < 1e-12)
        let step = LearningRateSchedule(shape: .step(milestones: [2, 4], gamma: 0.1))
        #expect(step.rate(base: 1, step: 19, stepsPerEpoch: 10, totalSteps: 100) == 1)
        #expect(abs(step.rate(base: 1, step: 20, stepsPerEpoch: 10, totalSteps: 100) - 0.1) < 1e-12)
        #expect(abs(step.rate(base: 1, step: 45, stepsPerEpoch: 10, totalSteps: 100) - 0.01) < 1e-12)
        let warm = LearningRateSchedule(shape: .constant, warmupEpochs: 1)
        #expect(abs(warm.rate(base: 1, step: 4, stepsPerEpoch: 10, totalSteps: 100) - 0.5) < 1e-12)
        #expect(warm.rate(base: 1, step: 10, stepsPerEpoch: 10, totalSteps: 100) == 1)
    }
}

@Suite struct GradientTreeTests {
    /// The tree adds micro-batches pairwise: ((g0 + g1) + (g2 + g3)). With g = (1e8, 5, 3,
    /// 11) (float spacing 8 at 1e8, ties to even): pairwise 1e8 + 8 (g0 + g1) plus 14 is
    /// 1e8 + 22, rounded to 1e8 + 24; left to right, right to left, and the other pairings
    /// all end at 1e8 + 16.
    @Test func sumsInPairwiseTreeOrder() {
        let store = ParameterStore(specs: [ParameterSpec(name: "w", shape: [1], decays: false)])
        let tree = GradientTree(store: store, replicas: .single(), localMicrobatches: 4)
        let g: [Float] = [1e8, 5, 3, 11]
        for step in 0..<2 { // buffers are reused across steps
            tree.begin(dense: false)
            for v in g {
                tree.beginMicrobatch().gradients[0] = v
                tree.endMicrobatch(lossSum: 0)
            }
            let reduced = tree.finish()
            let pairwise = (g[0] + g[1]) + (g[2] + g[3])
            let others = [((g[0] + g[1]) + g[2]) + g[3], ((g[3] + g[2]) + g[1]) + g[0],
                          (g[0] + g[2]) + (g[1] + g[3]), (g[0] + g[3]) + (g[1] + g[2])]
            #expect(pairwise == 100_000_024 && others.allSatisfy { $0 == 100_000_016 })
            #expect(reduced.gradients[0] == pairwise, "step \(step)")
            tree.endStep()
        }
    }

    /// Three micro-batches: g0 + g1 form a subtree, g2 is left alone; `finish` adds the
    /// remaining subtrees right to left, (g0 + g1) + g2. With (1e8, -1e8, 5) that is 5,
    /// while g0 + (g1 + g2) and (g0 + g2) + g1 give 8 (-1e8 + 5 rounds to -1e8 + 8).
    @Test func oddCountsAddRemainingSubtreesRightToLeft() {
        let store = ParameterStore(specs: [ParameterSpec(name: "w", shape: [1], decays: false)])
        let tree = GradientTree(store: store, replicas: .single(), localMicrobatches: 3)
        for (step, last) in [(0, 5), (1, 7)] as [(Int, Float)] { // buffers are reused across steps
            let g: [Float] = [1e8, -1e8, last]
            tree.begin(dense: false)
            for v in g {
                tree.beginMicrobatch().gradients[0] = v
                tree.endMicrobatch(lossSum: 0)
            }
            let reduced = tree.finish()
            let promised = (g[0] + g[1]) + g[2]
            #expect(promised == last && g[0] + (g[1] + g[2]) == 8 && (g[0] + g[2]) + g[1] == 8)
            #expect(reduced.gradients[0] == promised, "step \(step)")
            tree.endStep()
        }
    }
}

@Suite struct TrainerTests {
    /// A real training run on a small separable data set: the loss falls and the test
    /// accuracy ends far above chance (1/4), and the run is reproducible.
    @Test func learnsASyntheticTaskReproducibly() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir)
        var config = try TrainingConfig.parse(text: """
            model: {mlp: [64, 32, 4]}
            epochs: 5
            batch_size: 20
            microbatches: 4
            optimizer: {lr: 0.05}
            """, source: "t.yaml")
        config.data.path = dir.path
        func run() throws -> (reports: [EpochReport], weights: [NamedTensor]) {
            let trainer = try Trainer(config: config, replicas: .single(),
                                      data: try DataSource(path: dir.path, classes: 4).load())
            var reports: [EpochReport] = []
            try trainer.train { reports.append($0) }
            return (reports, trainer.tensors())
        }
        let (reports, weights) = try run()
        #expect(reports.count == 5)
        #expect(reports.last!.step == 5 * 20)
        #expect(reports.last!.trainLoss < reports.first!.trainLoss)
        #expect(reports.last!.testAccuracy > 0.9)
        // an epoch's bytes: every step all-reduces every gradient, the loss slot and the stop
        // vote, and the evaluation sums two doubles (one batch)
        let perStep = (64 * 32 + 32 + 32 * 4 + 4 + 2) * 4
        #expect(reports[1].bytesAllReduced == 20 * perStep + 16)
        #expect(reports[1].communication.bytes[.gradients] == 20 * perStep)
        #expect(reports[1].communication.denseBytesPerStep == (64 * 32 + 32 + 32 * 4 + 4) * 4)
        #expect(try run().weights == weights)
    }

    /// A RigL run on synthetic data learns, keeps its budget, and exports dense-shaped
    /// weights with masks that agree with them.
    @Test func sparseTrainingExportsWeightsAndMasks() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir)
        var config = try TrainingConfig.parse(text: """
            model: {mlp: [64, 32, 4]}
            epochs: 6
            batch_size: 20
            optimizer: {lr: 0.05}
            sparsity: {method: rigl, sparsity: 0.8, delta_t: 10, layers: {fc2: 0}}
            """, source: "t.yaml")
        config.data.path = dir.path
        let trainer = try Trainer(config: config, replicas: .single(),
                                  data: try DataSource(path: dir.path, classes: 4).load())
        var last: EpochReport?
        try trainer.train { last = $0 }
        #expect(last!.testAccuracy > 0.8)
        #expect(trainer.maskUpdates.count == 9) // steps 10...90 of 120; updates end at 3/4
        let tensors = Dictionary(uniqueKeysWithValues: (trainer.tensors() + trainer.maskTensors()).map { ($0.name, $0) })
        #expect(Set(tensors.keys) == ["fc1.weight", "fc1.weight_mask", "fc1.bias", "fc2.weight", "fc2.bias"])
        let mask = tensors["fc1.weight_mask"]!.values, weight = tensors["fc1.weight"]!.values
        #expect(mask.filter { $0 == 1 }.count == SparsityDistribution.activeCount(count: 64 * 32, sparsity: 0.8))
        #expect(zip(mask, weight).allSatisfy { $0 == 1 || $1 == 0 })
        #expect(trainer.flops.relativeToDense < 0.5)
    }

    private static func replicaModel() -> Sequential {
        let model = Sequential(layers: ModelArchitecture.mlp(sizes: [6, 4, 2]).makeLayers(sparsities: [0.5, 0], seed: 1))
        model.initialize(.glorotUniform, seed: 1)
        return model
    }

    /// Two independently built replicas have equal checksums; a change of one value, or of
    /// the mask alone (same values, other positions), changes exactly that tensor's.
    @Test func replicaChecksumsSeeValuesAndMasks() throws {
        let model = TrainerTests.replicaModel(), twin = TrainerTests.replicaModel()
        let a = ReplicaCheck.checksums(model)
        #expect(a.count == 4 && Set(a).count == 4)
        #expect(ReplicaCheck.checksums(twin) == a)
        model.store.values[model.store.offsets[2] + 3] += 1e-7
        let b = ReplicaCheck.checksums(model)
        #expect(b != a && a[0] == b[0] && a[1] == b[1] && a[2] != b[2] && a[3] == b[3])
        // the mask: move one connection and give the new one the old one's value, so the
        // values array is unchanged and only the pattern differs
        let sparse = twin.sparseLayers[0].layer
        let active = sparse.pattern.activeIndices
        let values = Array(sparse.activeWeights)
        // an inactive connection between the neighbours of active connection j takes its CSR place
        let (j, inactive) = try #require(active.indices.lazy.compactMap { j -> (Int, Int)? in
            let lo = j > 0 ? active[j - 1] + 1 : 0, hi = j + 1 < active.count ? active[j + 1] : 24
            return (lo..<hi).first { !active.contains($0) }.map { (j, $0) }
        }.first)
        sparse.apply(MaskDiff(sparseLayer: 0, dropped: [active[j]], grown: [inactive]))
        #expect(sparse.pattern.activeIndices[j] == inactive)
        sparse.updateActiveWeights { $0[j] = values[j] }
        #expect(Array(sparse.activeWeights) == values)
        let c = ReplicaCheck.checksums(twin)
        #expect(c[0] != a[0] && Array(c[1...]) == Array(a[1...]))
    }

    /// `verify` on a fake two-rank communicator whose rank 1 reports other checksums:
    /// agreement passes, a differing tensor is named with the step and the rank.
    @Test func replicaCheckNamesTheDivergentTensor() throws {
        let model = TrainerTests.replicaModel()
        let fake = TwoRankCommunicator()
        let check = ReplicaCheck(replicas: Replicas(fake))
        fake.otherRank = ReplicaCheck.checksums(TrainerTests.replicaModel())
        try check.verify(model, step: 3)
        #expect(fake.gathers == 1)
        for (t, name) in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"].enumerated() {
            var other = ReplicaCheck.checksums(model)
            other[t] ^= 1
            fake.otherRank = other
            do {
                try check.verify(model, step: 17 + t)
                Issue.record("no divergence reported for \(name)")
            } catch let d as ReplicaCheck.Divergence {
                #expect(d.tensor == name && d.step == 17 + t && d.rank == 1)
                #expect(d.description == "replica check: ranks diverged at step \(17 + t): \(name) on rank 1 differs from rank 0")
            }
        }
        // a real divergence: rank 1's model has one weight off by one ulp
        let drifted = TrainerTests.replicaModel()
        drifted.store.values[drifted.store.offsets[2]] = drifted.store.values[drifted.store.offsets[2]].nextUp
        fake.otherRank = ReplicaCheck.checksums(drifted)
        #expect(throws: ReplicaCheck.Divergence.self) { try check.verify(model, step: 5) }
    }

    @Test func maxStepsStopsEarly() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir)
        var config = try TrainingConfig.parse(text: "model: {mlp: [64, 4]}\nbatch_size: 20\nmax_steps: 7", source: "t.yaml")
        config.data.path = dir.path
        let trainer = try Trainer(config: config, replicas: .single(),
                                  data: try DataSource(path: dir.path, classes: 4).load())
        var reports: [EpochReport] = []
        try trainer.train { reports.append($0) }
        #expect(reports.count == 1 && reports[0].step == 7 && trainer.step == 7)
    }
}

/// Rank 0 of a fake two-rank group: `allGather` returns this rank's values followed by
/// `otherRank` (the checksums "rank 1" holds); the other collectives are not used.
private final class TwoRankCommunicator: Communicator {
    let rank = 0
    let size = 2
    let traffic = TrafficCounter()
    var otherRank: [UInt64] = []
    var gathers = 0

    func allGather<T: CollectiveScalar>(_ values: UnsafeBufferPointer<T>, kind: TrafficKind) -> [T] {
        gathers += 1
        precondition(T.self == UInt64.self && otherRank.count == values.count, "the fake gathers checksums only")
        return Array(values) + otherRank.map { $0 as! T }
    }

    func allReduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp, kind: TrafficKind) { unused() }
    func reduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp, root: Int, kind: TrafficKind) { unused() }
    func treeAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>, kind: TrafficKind) { unused() }
    func treeReduce(_ buffer: UnsafeMutableBufferPointer<Float>, kind: TrafficKind) { unused() }
    func broadcast<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int, kind: TrafficKind) { unused() }
    func barrier() {}
    func abort(code: Int32) -> Never { fatalError("abort \(code)") }
    func finalize() {}
    private func unused() { Issue.record("unexpected collective on the fake communicator") }
}
