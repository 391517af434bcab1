import MPI
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

@Suite struct CommunicatorTests {
    @Test func singleProcessCollectivesAreIdentitiesThatCountBytes() {
        let c = SingleProcessCommunicator()
        #expect(c.rank == 0 && c.size == 1 && c.isRoot && c.treeReductionIsExact)
        var floats: [Float] = [1, 2, 3]
        c.allReduce(&floats, op: .sum, kind: .gradients)
        #expect(floats == [1, 2, 3])
        var ints: [Int64] = [5]
        c.allReduce(&ints, op: .max, kind: .metrics)
        #expect(ints == [5])
        #expect(c.allReduce(Int32(4), op: .min, kind: .metrics) == 4)
        var doubles: [Double] = [1.5]
        c.reduce(&doubles, op: .sum, root: 0, kind: .denseGradients)
        c.broadcast(&doubles, root: 0, kind: .maskDiffs)
        var bytes: [UInt8] = [9, 8, 7]
        c.broadcast(bytes: &bytes, root: 0, kind: .maskDiffs)
        #expect(bytes == [9, 8, 7])
        #expect(c.allGather([Int32(3), 4], kind: .checks) == [3, 4])
        floats.withUnsafeMutableBufferPointer { c.treeAllReduce($0, kind: .gradients) }
        #expect(c.traffic.bytes(.gradients) == 24)
        #expect(c.traffic.bytes(.metrics) == 12)
        #expect(c.traffic.bytes(.denseGradients) == 8)
        #expect(c.traffic.bytes(.maskDiffs) == 8 + 8 + 3)
        #expect(c.traffic.bytes(.checks) == 8)
        #expect(c.traffic.total == 24 + 12 + 8 + 19 + 8)
    }

    @Test func randomStreamsAreStatelessAndDistinct() {
        var a = StatelessRandom(seed: 1, purpose: .grow, step: 300, layer: 2)
        var b = StatelessRandom(seed: 1, purpose: .grow, step: 300, layer: 2)
        var c = StatelessRandom(seed: 1, purpose: .grow, step: 300, layer: 3)
        var d = StatelessRandom(seed: 1, purpose: .dropNoise, step: 300, layer: 2)
        let xa = (0..<4).map { _ in a.next() }
        #expect(xa == (0..<4).map { _ in b.next() })
        #expect(xa != (0..<4).map { _ in c.next() })
        #expect(xa != (0..<4).map { _ in d.next() })
        var u = StatelessRandom(seed: 2, purpose: .weightInit)
        let draws = (0..<10_000).map { _ in u.nextUniform() }
        #expect(draws.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = draws.reduce(0, +) / Float(draws.count)
        #expect(abs(mean - 0.5) < 0.02)
        var p = StatelessRandom(seed: 3, purpose: .shuffle)
        #expect(p.permutation(100).sorted() == (0..<100).map { Int32($0) })
    }
}
