import Foundation
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

/// A random pattern and values, with its masked dense matrix.
private func randomSparse(rows: Int, cols: Int, density: Double, seed: UInt64) -> (SparsePattern, [Float], [Float]) {
    var random = StatelessRandom(seed: seed, purpose: .maskInit)
    let count = max(1, Int(Double(rows * cols) * density))
    let pattern = SparsePattern(rows: rows, cols: cols, activeIndices: RandomMask.indices(count: count, of: rows * cols, random: &random))
    let values = (0..<count).map { _ in random.nextUniform(-1, 1) }
    var dense = [Float](repeating: 0, count: rows * cols)
    for (k, index) in pattern.activeIndices.enumerated() { dense[index] = values[k] }
    return (pattern, values, dense)
}

/// max |a - b| / max |b|
private func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    worstError(zip(a, b).map { Double(abs($0 - $1)) }) / max(Double(b.map { abs($0) }.max() ?? 0), 1e-30)
}

@Suite struct SparseKernelTests {
    /// The measure the kernel checks use sees a NaN (an entry a kernel never wrote) wherever
    /// it is: the check fails instead of passing on the other entries.
    @Test func relativeErrorSeesNaN() {
        #expect(relativeError([1, 2], [1, 2]) == 0)
        for wrong in [[Float.nan, 2], [1, .nan]] { #expect(!(relativeError(wrong, [1, 2]) < 1e-4), "\(wrong)") }
    }

    /// SRigL's condensed layout gives the CSR kernel's outputs bitwise on batch columns
    /// outside its SIMD blocks (batch 1, and the tail of batch 3), with a constant fan-in, a
    /// row count that is not a multiple of eight, and an ablated row (no inputs).
    @Test(arguments: [1, 3])
    func condensedLayoutMatchesCSR(batch: Int) {
        let rows = 13, cols = 40, k = 5
        var random = StatelessRandom(seed: 9, purpose: .maskInit)
        var indices: [Int] = []
        for r in 0..<rows where r != 6 { indices += RandomMask.indices(count: k, of: cols, random: &random).map { r * cols + $0 } }
        let pattern = SparsePattern(rows: rows, cols: cols, activeIndices: indices)
        let values = (0..<pattern.activeCount).map { _ in random.nextUniform(-1, 1) }
        let bias = (0..<rows).map { _ in random.nextUniform(-1, 1) }
        let x = Matrix(rows: cols, cols: batch), y = Matrix(rows: rows, cols: batch), condensedY = Matrix(rows: rows, cols: batch)
        for i in 0..<x.count { x.data[i] = random.nextNormal() }
        values.withUnsafeBufferPointer { v in
            bias.withUnsafeBufferPointer { b in
                SparseKernels.forward(pattern, values: v.baseAddress!, bias: b.baseAddress!, x: x, y: y)
                let condensed = CondensedLinear(pattern, values: v.baseAddress!, bias: b.baseAddress!)
                #expect(condensed.fanIn == k)
                condensed.forward(x: x, y: condensedY)
            }
        }
        #expect((0..<y.count).allSatisfy { y.data[$0].bitPattern == condensedY.data[$0].bitPattern })
        #expect((0..<batch).allSatisfy { y.data[6 * batch + $0] == bias[6] })
    }

    @Test func patternRoundTripsIndices() {
        let p = SparsePattern(rows: 3, cols: 4, activeIndices: [11, 0, 5, 6])
        #expect(p.activeIndices == [0, 5, 6, 11])
        #expect(p.rowStart == [0, 1, 3, 4])
        #expect(p.columns == [0, 1, 2, 3])
        #expect(abs(p.density - 4.0 / 12.0) < 1e-12)
    }

    /// The three kernels equal the masked dense products (relative 1e-4), for batch sizes
    /// that exercise the 32-, 8- and 1-wide paths and densities from very sparse to dense.
    @Test(arguments: [1, 7, 8, 25, 32, 40, 77])
    func kernelsEqualMaskedDenseMath(batch: Int) {
        for (density, seed) in [(0.01, 1), (0.1, 2), (0.5, 3), (1.0, 4)] as [(Double, UInt64)] {
            let rows = 37, cols = 53
            let (pattern, values, dense) = randomSparse(rows: rows, cols: cols, density: density, seed: seed)
            let bias = (0..<rows).map { Float($0) * 0.01 }
            let x = randomMatrix(cols, batch, seed: seed + 10), dy = randomMatrix(rows, batch, seed: seed + 20)
            // forward
            let y = Matrix(rows: rows, cols: batch)
            SparseKernels.forward(pattern, values: values, bias: bias, x: x, y: y)
            var expected = [Float](repeating: 0, count: rows * batch)
            for i in 0..<rows { for j in 0..<batch {
                var s = bias[i]
                for c in 0..<cols { s += dense[i * cols + c] * x[c, j] }
                expected[i * batch + j] = s
            } }
            #expect(relativeError(y.values, expected) < 1e-4, "forward, density \(density)")
            // input gradient
            let dx = Matrix(rows: cols, cols: batch)
            SparseKernels.inputGradient(pattern, values: values, dy: dy, dx: dx)
            var expectedDx = [Float](repeating: 0, count: cols * batch)
            for c in 0..<cols { for j in 0..<batch {
                var s: Float = 0
                for i in 0..<rows { s += dense[i * cols + c] * dy[i, j] }
                expectedDx[c * batch + j] = s
            } }
            #expect(relativeError(dx.values, expectedDx) < 1e-4, "input gradient, density \(density)")
            // weight gradient at active entries
            var grad = [Float](repeating: .nan, count: pattern.activeCount)
            grad.withUnsafeMutableBufferPointer { SparseKernels.weightGradient(pattern, dy: dy, x: x, grad: $0.baseAddress!) }
            let expectedGrad: [Float] = pattern.activeIndices.map { index in
                let i = index / cols, c = index % cols
                return (0..<batch).reduce(Float(0)) { $0 + dy[i, $1] * x[c, $1] }
            }
            #expect(relativeError(grad, expectedGrad) < 1e-4, "weight gradient, density \(density)")
        }
    }

    /// A sparse layer's sparse path and dense-math path agree, and its gradients match
    /// central differences of the loss.
    @Test func sparseLinearGradientsAndPaths() {
        let (pattern, _, _) = randomSparse(rows: 6, cols: 9, density: 0.4, seed: 7)
        func model(denseMath: Double) -> Sequential {
            let m = Sequential(layers: [SparseLinear(inputFeatures: 9, outputFeatures: 6, pattern: pattern, denseMathDensity: denseMath),
                                        ReLU(features: 6),
                                        SparseLinear(inputFeatures: 6, outputFeatures: 3, pattern: SparsePattern(rows: 3, cols: 6, activeIndices: [0, 2, 5, 7, 8, 11, 13, 17]), denseMathDensity: denseMath)])
            m.initialize(.heNormal, seed: 3)
            for i in 0..<m.store.count { m.store.values[i] += 0.05 * Float(i % 7) - 0.1 }
            return m
        }
        let x = randomMatrix(9, 5, seed: 1)
        let labels: [Int32] = [0, 1, 2, 1, 0]
        let loss = SoftmaxCrossEntropy()
        func gradients(_ m: Sequential) -> [Float] {
            let (_, dz) = loss(m.forward(x), labels: labels, gradientScale: 1.0 / 5)
            return m.backwardGradients(dz!)
        }
        let sparse = model(denseMath: 1.1), denseMath = model(denseMath: 0)
        let g = gradients(sparse)
        #expect(relativeError(gradients(denseMath), g) < 1e-5)
        // Parameters feeding a hidden unit whose ReLU input comes within 0.01 of zero are
        // skipped: the central difference would straddle the kink.
        let pre = Matrix(rows: 6, cols: 5)
        pre.data.update(from: sparse.layers[0].forward(x).data, count: 30)
        let nearKink = Set((0..<6).filter { r in (0..<5).contains { abs(pre[r, $0]) < 0.01 } })
        let rowOfWeight = (0..<pattern.activeCount).map { k in (0..<6).first { Int(pattern.rowStart[$0 + 1]) > k }! }
        func skipped(_ i: Int) -> Bool {
            if i < pattern.activeCount { return nearKink.contains(rowOfWeight[i]) }
            if i < pattern.activeCount + 6 { return nearKink.contains(i - pattern.activeCount) }
            return false
        }
        var worst = 0.0, checked = 0
        for i in 0..<sparse.store.count where !skipped(i) {
            checked += 1
            let w = sparse.store.values, saved = w[i], h: Float = 1e-3
            w[i] = saved + h
            let plus = loss(sparse.forward(x), labels: labels, gradientScale: nil).0.lossSum / 5
            w[i] = saved - h
            let minus = loss(sparse.forward(x), labels: labels, gradientScale: nil).0.lossSum / 5
            w[i] = saved
            let numeric = (plus - minus) / Double(2 * h)
            let error = abs(numeric - Double(g[i])) / max(1e-2, abs(numeric) + abs(Double(g[i])))
            worst = worstError([worst, error])
        }
        #expect(worst < 2e-2, "worst relative error \(worst)")
        #expect(checked >= sparse.store.count * 2 / 3, "checked \(checked) of \(sparse.store.count)")
    }

    /// The largest scores win; among equal scores the larger key (a hash of the stream and
    /// the position) wins, so a tie has one answer for a given stream, and another stream
    /// may answer it differently.
    @Test func topKPicksTheLargestAndBreaksTiesByKey() {
        let scores: [Float] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
        // 9 and 6 (positions 5, 7) are in; two of the three 5s (positions 4, 8, 10) follow:
        // the two with the largest keys.
        func expectedTop4(_ t: TopK) -> [Int] {
            ([5, 7] + [4, 8, 10].sorted { t.key($0) > t.key($1) }.prefix(2)).sorted()
        }
        let one = TopK(keySeed: 1)
        let top = one.largest(4, count: scores.count, score: { scores[$0] })
        #expect(top == expectedTop4(one))
        #expect(top == [5, 7, 8, 10]) // the answer for key seed 1, fixed
        #expect(TopK(keySeed: 1).largest(4, count: scores.count, score: { scores[$0] }) == top)
        // smallest: the two 1s; then a tie among the two 3s (positions 0 and 9) for the third
        #expect(one.smallest(2, count: scores.count, score: { scores[$0] }) == [1, 3])
        #expect(one.smallest(4, count: scores.count, score: { scores[$0] }) == [1, 3, 6, one.key(0) > one.key(9) ? 0 : 9].sorted())
        let filtered = one.largest(2, count: scores.count, isCandidate: { $0 != 5 }, score: { scores[$0] })
        #expect(filtered == [7, one.key(4) > one.key(8) && one.key(4) > one.key(10) ? 4 : one.key(8) > one.key(10) ? 8 : 10].sorted())
        // The stream of a decision is a function of (seed, purpose, step, layer): the same key
        // gives the same choice, and its key seed is the stream's first draw.
        func choice(_ seed: UInt64, _ step: Int, _ layer: Int) -> [Int] {
            let t = TopK(seed: seed, purpose: .grow, step: step, layer: layer)
            let picked = t.largest(4, count: scores.count, score: { scores[$0] })
            #expect(picked == expectedTop4(t))
            return picked
        }
        var stream = StatelessRandom(seed: 7, purpose: .grow, step: 3, layer: 1)
        #expect(TopK(seed: 7, purpose: .grow, step: 3, layer: 1).keySeed == stream.next())
        #expect(choice(7, 3, 1) == choice(7, 3, 1))
        // all three tie pairs come up across seeds, steps and layers
        let outcomes = Set((0..<40).map { choice(UInt64($0), 3, 1) } + (0..<40).map { choice(7, $0, 1) } + (0..<40).map { choice(7, 3, $0) })
        #expect(outcomes == [[4, 5, 7, 8], [4, 5, 7, 10], [5, 7, 8, 10]])
        #expect(Set((0..<40).map { choice(UInt64($0), 3, 1) }).count > 1, "the seed never changes the tie")
        // agrees with sorting on distinct random scores
        var random = StatelessRandom(seed: 4, purpose: .shuffle)
        let many = (0..<5000).map { _ in random.nextUniform() }
        let expected = Array(many.enumerated().sorted { $0.element > $1.element }.prefix(300).map(\.offset)).sorted()
        #expect(TopK(keySeed: 9).largest(300, count: many.count, score: { many[$0] }) == expected)
    }

    @Test func maskDiffsRoundTrip() {
        let diffs = [MaskDiff(sparseLayer: 0, dropped: [1, 5], grown: [2, 3]), MaskDiff(sparseLayer: 2, dropped: [], grown: [])]
        #expect(MaskDiff.decode(MaskDiff.encode(diffs)) == diffs)
    }
}
