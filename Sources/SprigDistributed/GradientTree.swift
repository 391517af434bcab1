import MPI
import SprigTensor
import SprigLayers
import SprigSparsity

/// Accumulates the gradients of a rank's micro-batches as a pairwise tree, then combines
/// the ranks' partial sums with `treeAllReduce`, so that the gradient of a global batch is
///
///     g = T(0, M),  T(lo, hi) = T(lo, mid) + T(mid, hi),  T(k, k+1) = g_k
///
/// over its M micro-batches `g_k`, whatever the number of ranks: with M and the number of
/// ranks powers of two, rank r holds the aligned subtree of micro-batches
/// `r M/n ..< (r+1) M/n`, and every addition happens in the same tree as in one process.
/// The result is bitwise identical for 1, 2, 4, ... ranks (exact rank-count invariance),
/// provided each micro-batch is computed with the same code and BLAS thread count.
///
/// The tree owns the step's gradient memory and the wire format: `beginMicrobatch` hands
/// out the buffers a backward pass writes into, `endMicrobatch(lossSum:)` files them with
/// the micro-batch's loss sum, and `finish` returns the global batch's `StepGradients`. A
/// buffer holds every gradient in the store's layout, then the loss sum and the ranks' stop
/// votes: the one fused buffer of the per-step all-reduce; then, for a model with batch
/// normalisation, the micro-batch's statistics (`statisticsCount` floats, summed the same
/// way and all-reduced as `statistics` traffic). When two subtrees of equal size are complete, the
/// right one is added into the left (a binary counter), so the pool needs
/// log2(local micro-batches) + 1 buffers and no copies.
///
/// On steps that need dense gradients of the sparse layers (`begin(dense: true)`), either
/// a second pool of dense buffers is summed the same way and reduced as `denseGradients`
/// traffic (`reduce`, `allreduce`), or (`factors`) the sparse layers record the factors
/// `X_k`, `dY_k` of their dense gradients (`GrowthFactors`) and `finish` all-gathers them,
/// so that every rank holds the whole global batch's factors (`(in + out) B` floats per
/// layer instead of `in * out`) and RigL's growth computes the dense gradient tile by tile
/// (`TiledDenseGradient`), in the same tree. Either exists only from `begin` to `endStep`,
/// so between mask updates no dense gradient memory is held.
public final class GradientTree {
    public let store: ParameterStore
    let communicator: Communicator
    public let localMicrobatches: Int
    /// Floats of batch-norm statistics per micro-batch, after the loss sum and the stop vote.
    public let statisticsCount: Int
    /// How the dense gradients are combined: to every rank, or to rank 0 only (the rank
    /// that decides masks), which halves their traffic.
    public var denseReduction: DenseGradientReduction = .reduceToRoot
    private let levels: Int
    private var poolVersion: Int
    /// Floats in one buffer: the store's gradients, the loss sum, then the stop votes.
    private var length: Int
    /// This rank's vote, read once per step just before the all-reduce: true when the run
    /// should stop (a SIGTERM or SIGINT reached this process). The votes travel in the
    /// step's one fused all-reduce, so every rank learns the same outcome at the same step.
    public var stopVote: () -> Bool = { false }
    private var pool: [UnsafeMutablePointer<Float>] = []
    private var free: [UnsafeMutablePointer<Float>] = []
    private var densePool: [UnsafeMutablePointer<Float>] = []
    private var denseFree: [UnsafeMutablePointer<Float>] = []
    /// A micro-batch's buffers: gradients and loss sum, and dense gradients on dense steps.
    typealias Leaf = (buffer: UnsafeMutablePointer<Float>, dense: UnsafeMutablePointer<Float>?)
    /// Completed subtrees of the local micro-batches.
    private var tree = PairwiseTree<Leaf>()
    private var current: Leaf?
    /// The step's factors (`factors` reduction, on dense steps).
    private var factors: GrowthFactors?

    public init(store: ParameterStore, replicas: Replicas, localMicrobatches: Int, statisticsCount: Int = 0) {
        precondition(localMicrobatches >= 1)
        self.store = store
        self.statisticsCount = statisticsCount
        self.communicator = replicas.communicator
        self.localMicrobatches = localMicrobatches
        var levels = 0
        while (1 << levels) < localMicrobatches { levels += 1 }
        self.levels = levels
        poolVersion = store.layoutVersion
        length = store.count + 2 + statisticsCount
        allocatePool()
    }

    /// The binary counter holds at most one subtree per level below the top, plus the
    /// micro-batch being computed: levels + 1 buffers of the store's gradients and the loss.
    private func allocatePool() {
        for b in pool { b.deallocate() }
        length = store.count + 2 + statisticsCount
        pool = (0...levels).map { _ in
            let b = UnsafeMutablePointer<Float>.allocate(capacity: length)
            b.initialize(repeating: 0, count: length)
            return b
        }
        free = pool
        poolVersion = store.layoutVersion
    }

    deinit {
        endStep()
        for b in pool { b.deallocate() }
    }

    /// Bytes of the pools now.
    public var bytes: Int {
        (pool.count * length + densePool.count * store.denseCount) * MemoryLayout<Float>.stride
    }

    /// Starts a step; with `dense`, the step also sums the sparse layers' dense gradients.
    public func begin(dense: Bool) {
        precondition(tree.isEmpty && current == nil, "begin inside a step")
        endStep()
        if poolVersion != store.layoutVersion { allocatePool() }
        guard dense, store.denseCount > 0 else { return }
        if denseReduction == .gatherFactors {
            factors = GrowthFactors()
            return
        }
        // Not zeroed: every micro-batch's backward pass overwrites its dense buffer whole.
        for _ in 0...levels {
            densePool.append(UnsafeMutablePointer<Float>.allocate(capacity: store.denseCount))
        }
        denseFree = densePool
    }

    /// Ends the step: the dense buffers are released (call once the optimizer and the mask
    /// update have used the step's gradients).
    public func endStep() {
        factors = nil
        for b in densePool { b.deallocate() }
        densePool = []
        denseFree = []
    }

    /// The buffers the next micro-batch's backward pass writes into.
    public func beginMicrobatch() -> GradientBuffers {
        precondition(current == nil, "beginMicrobatch twice")
        let b = free.removeLast()
        let d = densePool.isEmpty ? nil : denseFree.removeLast()
        current = (b, d)
        return GradientBuffers(gradients: b, denseGradients: d, factors: factors)
    }

    /// Where the micro-batch whose gradients go to `buffers` leaves its statistics.
    public func statistics(in buffers: GradientBuffers) -> UnsafeMutablePointer<Float> {
        buffers.gradients + store.count + 2
    }

    /// Files the finished micro-batch's gradients, with the sum of its examples' losses,
    /// into the tree.
    public func endMicrobatch(lossSum: Float) {
        guard let right = current else { preconditionFailure("endMicrobatch without beginMicrobatch") }
        current = nil
        right.buffer[store.count] = lossSum
        right.buffer[store.count + 1] = 0
        tree.push(right, combine: add)
    }

    /// The buffers of one backward pass over all the local micro-batches side by side
    /// (`Sequential.backward(_:microbatches:into:)`), whose layers add the micro-batches'
    /// gradients in this tree's order themselves. Not on steps with dense gradients.
    public func beginAllMicrobatches() -> GradientBuffers {
        precondition(densePool.isEmpty && factors == nil, "dense gradients are taken one micro-batch at a time")
        return beginMicrobatch()
    }

    /// Files the local micro-batches' summed gradients, with each micro-batch's loss sum
    /// (added here in the tree's order), as the whole local subtree.
    public func endAllMicrobatches(lossSums: [Float]) {
        precondition(lossSums.count == localMicrobatches, "\(lossSums.count) loss sums for \(localMicrobatches) micro-batches")
        guard let leaf = current else { preconditionFailure("endAllMicrobatches without beginAllMicrobatches") }
        var sums = lossSums
        let schedule = PairwiseTree<Int>.schedule(leaves: sums.count)
        for (left, right) in schedule.additions { sums[left] += sums[right] }
        current = nil
        leaf.buffer[store.count] = sums[schedule.root]
        leaf.buffer[store.count + 1] = 0
        tree.push(leaf, combine: add)
    }

    /// `left += right` for both buffers; `right`'s buffers go back to the pools.
    private func add(into left: Leaf, _ right: Leaf) {
        let n = length
        for i in 0..<n { left.buffer[i] += right.buffer[i] }
        free.append(right.buffer)
        if let l = left.dense, let r = right.dense {
            for i in 0..<store.denseCount { l[i] += r[i] }
            denseFree.append(r)
        }
    }

    /// True when this rank holds the summed dense gradients after `finish`.
    public var holdsDenseGradients: Bool {
        denseReduction == .allReduce || (denseReduction == .reduceToRoot && communicator.isRoot)
    }

    /// Adds up what is left on the stack (when the local count is not a power of two, the
    /// smaller subtrees from right to left), sums across ranks, and returns the global
    /// batch's gradients, valid until the next `beginMicrobatch` (the dense ones until
    /// `endStep`).
    public func finish() -> StepGradients {
        precondition(current == nil && !tree.isEmpty, "finish without micro-batches")
        let right = tree.finish(combine: add)
        right.buffer[store.count + 1] = stopVote() ? 1 : 0
        communicator.treeAllReduce(UnsafeMutableBufferPointer(start: right.buffer, count: store.count + 2), kind: .gradients)
        if statisticsCount > 0 {
            communicator.treeAllReduce(UnsafeMutableBufferPointer(start: right.buffer + store.count + 2, count: statisticsCount),
                                       kind: .statistics)
        }
        free.append(right.buffer)
        if let dense = right.dense {
            let buffer = UnsafeMutableBufferPointer(start: dense, count: store.denseCount)
            switch denseReduction {
            case .allReduce: communicator.treeAllReduce(buffer, kind: .denseGradients)
            case .reduceToRoot: communicator.treeReduce(buffer, kind: .denseGradients)
            case .gatherFactors: preconditionFailure("dense buffers on a factors step")
            }
        }
        if let factors {
            // Every rank's micro-batches, rank after rank: the global batch in order.
            for index in factors.floats.keys.sorted() {
                factors.replace(weightIndex: index, with: communicator.allGather(factors.floats[index]!, kind: .growthFactors))
            }
        }
        return StepGradients(gradients: right.buffer, denseGradients: holdsDenseGradients ? right.dense : nil,
                             factors: factors, lossSum: right.buffer[store.count],
                             statistics: statisticsCount > 0 ? right.buffer + store.count + 2 : nil,
                             stopRequested: right.buffer[store.count + 1] > 0)
    }
}

/// The gradients of one global batch, summed over its micro-batches and the ranks: every
/// parameter's gradient in the store's layout, the dense gradients of the sparse tensors
/// when the step computed them (on the ranks that hold them), and the loss summed over the
/// batch's examples. Valid until the gradient tree's next micro-batch (the dense gradients
/// until its `endStep`), or the factors of the dense gradients of the whole global batch.
public struct StepGradients {
    public let gradients: UnsafeMutablePointer<Float>
    public let denseGradients: UnsafeMutablePointer<Float>?
    public let factors: GrowthFactors?
    public let lossSum: Float
    /// The batch-norm statistics summed over the global batch's micro-batches, if any.
    public var statistics: UnsafeMutablePointer<Float>?
    /// True when some rank voted to stop after this step (the same on every rank).
    public var stopRequested = false

    /// The buffers, as a backward pass would see them.
    public var buffers: GradientBuffers { GradientBuffers(gradients: gradients, denseGradients: denseGradients) }
}

/// Where the dense gradients of a mask-update step are summed.
public enum DenseGradientReduction: String, CaseIterable, Sendable {
    /// Nowhere whole: every rank gets every rank's factors `X_k`, `dY_k`, computes its
    /// share of the dense gradient's tiles, and sends its best growth candidates to rank 0.
    case gatherFactors = "factors"
    /// Every rank gets them (`treeAllReduce`).
    case allReduce = "allreduce"
    /// Only rank 0, which alone decides masks, gets them (`treeReduce`).
    case reduceToRoot = "reduce"
}
