import Testing
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigTensor
@testable import SprigTraining

/// The pieces of a step that runs its micro-batches side by side: the loss sums in the
/// gradient tree's order, `PairwiseTree.schedule`, and `LocalBatch`'s two layouts.
@Suite struct MicrobatchesSideBySideTests {
    /// Micro-batches side by side: the loss sums handed to `endAllMicrobatches` are added
    /// in the same tree, ((1e8 + 5) + (3 + 11)) = 1e8 + 24 for four and (1e8 - 1e8) + 5 = 5
    /// for three, as the values above; and the schedule names those additions.
    @Test func sideBySideLossSumsAddInTheTree() {
        let store = ParameterStore(specs: [ParameterSpec(name: "w", shape: [1], decays: false)])
        for (sums, promised) in [([1e8, 5, 3, 11], 100_000_024), ([1e8, -1e8, 5], 5)] as [([Float], Float)] {
            let tree = GradientTree(store: store, replicas: .single(), localMicrobatches: sums.count)
            tree.begin(dense: false)
            tree.beginAllMicrobatches().gradients[0] = 0
            tree.endAllMicrobatches(lossSums: sums)
            #expect(tree.finish().lossSum == promised, "\(sums)")
            tree.endStep()
        }
        #expect(PairwiseTree<Int>.schedule(leaves: 4).additions.map { [$0.left, $0.right] } == [[0, 1], [2, 3], [0, 2]])
        #expect(PairwiseTree<Int>.schedule(leaves: 3).additions.map { [$0.left, $0.right] } == [[0, 1], [0, 2]])
        #expect(PairwiseTree<Int>.schedule(leaves: 1).root == 0)
    }

    /// A local batch in either layout gives the other: micro-batches side by side in one
    /// matrix, or one matrix each, with the labels in order.
    @Test func localBatchLayoutsGiveEachOther() {
        let parts = (0..<3).map { k -> Matrix in
            let m = Matrix(rows: 2, cols: 4)
            for i in 0..<m.count { m.data[i] = Float(100 * k + i) }
            return m
        }
        let labels: [[Int32]] = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]
        let oneByOne = LocalBatch(microbatches: parts, labels: labels)
        let wide = oneByOne.allMicrobatches { Matrix(rows: 2, cols: 12) }
        #expect(wide.rows == 2 && wide.cols == 12 && oneByOne.microbatchSize == 4)
        #expect(wide[1, 4] == 104 && wide[0, 11] == 203 && wide[0, 0] == 0)
        let sideBySide = LocalBatch(input: wide, labels: labels.flatMap { $0 }, microbatches: 3)
        #expect(sideBySide.allMicrobatches { Matrix(rows: 0, cols: 0) } === wide)
        for k in 0..<3 {
            #expect(sideBySide.microbatch(k) { Matrix(rows: 2, cols: 4) }.values == parts[k].values)
            #expect(oneByOne.microbatch(k) { Matrix(rows: 0, cols: 0) } === parts[k])
            #expect(Array(sideBySide.labels(ofMicrobatch: k)) == labels[k] && Array(oneByOne.labels(ofMicrobatch: k)) == labels[k])
        }
    }
}
