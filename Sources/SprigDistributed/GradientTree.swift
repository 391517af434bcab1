import MPI
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
/// Each micro-batch's backward pass writes into a buffer of a small pool (the store's
/// gradient pointer is redirected to it); when two subtrees of equal size are complete, the
/// right one is added into the left (a binary counter), so the pool needs
/// log2(local micro-batches) + 1 buffers and no copies.
///
/// On steps that need dense gradients of the sparse layers (`begin(dense: true)`), a
/// second pool of dense buffers is summed the same way and reduced as `denseGradients`
/// traffic; it exists only from `begin` to `endStep`, so between mask updates no dense
/// gradient memory is held.
public final class GradientTree {
    public let store: ParameterStore
    let communicator: Communicator
    public let localMicrobatches: Int
    /// How the dense gradients are combined: to every rank, or to rank 0 only (the rank
    /// that decides masks), which halves their traffic.
    public var denseReduction: DenseGradientReduction = .reduceToRoot
    private let levels: Int
    private var poolVersion: Int
    private var pool: [UnsafeMutablePointer<Float>] = []
    private var free: [UnsafeMutablePointer<Float>] = []
    private var densePool: [UnsafeMutablePointer<Float>] = []
    private var denseFree: [UnsafeMutablePointer<Float>] = []
    /// Completed subtrees: (level, buffer, dense buffer); levels strictly decrease from
    /// bottom to top.
    private var stack: [(level: Int, buffer: UnsafeMutablePointer<Float>, dense: UnsafeMutablePointer<Float>?)] = []
    private var current: (buffer: UnsafeMutablePointer<Float>, dense: UnsafeMutablePointer<Float>?)?

    public init(store: ParameterStore, replicas: Replicas, localMicrobatches: Int) {
        precondition(localMicrobatches >= 1)
        self.store = store
        self.communicator = replicas.communicator
        self.localMicrobatches = localMicrobatches
        var levels = 0
        while (1 << levels) < localMicrobatches { levels += 1 }
        self.levels = levels
        poolVersion = store.layoutVersion
        allocatePool()
    }

    /// The binary counter holds at most one subtree per level below the top, plus the
    /// micro-batch being computed: levels + 1 buffers of the store's gradient length.
    private func allocatePool() {
        for b in pool { b.deallocate() }
        pool = (0...levels).map { _ in
            let b = UnsafeMutablePointer<Float>.allocate(capacity: store.gradientLength)
            b.initialize(repeating: 0, count: store.gradientLength)
            return b
        }
        free = pool
        poolVersion = store.layoutVersion
    }

    deinit {
        endStep()
        store.redirectGradients(to: nil)
        for b in pool { b.deallocate() }
    }

    /// Bytes of the pools now.
    public var bytes: Int {
        (pool.count * store.gradientLength + densePool.count * store.denseCount) * MemoryLayout<Float>.stride
    }

    /// Starts a step; with `dense`, the step also sums the sparse layers' dense gradients.
    public func begin(dense: Bool) {
        precondition(stack.isEmpty && current == nil, "begin inside a step")
        endStep()
        if poolVersion != store.layoutVersion { allocatePool() }
        guard dense, store.denseCount > 0 else { return }
        // Not zeroed: every micro-batch's backward pass overwrites its dense buffer whole.
        for _ in 0...levels {
            densePool.append(UnsafeMutablePointer<Float>.allocate(capacity: store.denseCount))
        }
        denseFree = densePool
    }

    /// Ends the step: the store's gradients point at its own buffer again, and the dense
    /// buffers are released (call once the optimizer and the mask update have used them).
    public func endStep() {
        store.redirectGradients(to: nil)
        store.redirectDenseGradients(to: nil)
        for b in densePool { b.deallocate() }
        densePool = []
        denseFree = []
    }

    /// Points the store's gradients at fresh buffers for the next micro-batch.
    public func beginMicrobatch() {
        precondition(current == nil, "beginMicrobatch twice")
        let b = free.removeLast()
        let d = densePool.isEmpty ? nil : denseFree.removeLast()
        current = (b, d)
        store.redirectGradients(to: b)
        store.redirectDenseGradients(to: d)
    }

    /// Files the finished micro-batch's gradients into the tree.
    public func endMicrobatch() {
        guard var right = current else { preconditionFailure("endMicrobatch without beginMicrobatch") }
        current = nil
        var level = 0
        while let top = stack.last, top.level == level {
            stack.removeLast()
            add(into: top, right)
            right = (top.buffer, top.dense)
            level += 1
        }
        stack.append((level, right.buffer, right.dense))
    }

    /// `left += right` for both buffers; `right`'s buffers go back to the pools.
    private func add(into left: (level: Int, buffer: UnsafeMutablePointer<Float>, dense: UnsafeMutablePointer<Float>?),
                     _ right: (buffer: UnsafeMutablePointer<Float>, dense: UnsafeMutablePointer<Float>?)) {
        let n = store.gradientLength
        for i in 0..<n { left.buffer[i] += right.buffer[i] }
        free.append(right.buffer)
        if let l = left.dense, let r = right.dense {
            for i in 0..<store.denseCount { l[i] += r[i] }
            denseFree.append(r)
        }
    }

    /// True when this rank holds the summed dense gradients after `finish`.
    public var holdsDenseGradients: Bool { denseReduction == .allReduce || communicator.isRoot }

    /// Adds up what is left on the stack (when the local count is not a power of two, the
    /// smaller subtrees from right to left), sums across ranks, and leaves the global
    /// gradient in the buffer the store's gradients point at, valid until the next
    /// `beginMicrobatch`.
    public func finish() {
        precondition(current == nil && !stack.isEmpty, "finish without micro-batches")
        let last = stack.removeLast()
        var right = (buffer: last.buffer, dense: last.dense)
        while let top = stack.popLast() {
            add(into: top, right)
            right = (top.buffer, top.dense)
        }
        store.redirectGradients(to: right.buffer)
        communicator.treeAllReduce(UnsafeMutableBufferPointer(start: right.buffer, count: store.gradientLength), kind: .gradients)
        free.append(right.buffer)
        store.redirectDenseGradients(to: right.dense)
        if let dense = right.dense {
            let buffer = UnsafeMutableBufferPointer(start: dense, count: store.denseCount)
            switch denseReduction {
            case .allReduce: communicator.treeAllReduce(buffer, kind: .denseGradients)
            case .reduceToRoot: communicator.treeReduce(buffer, kind: .denseGradients)
            }
        }
    }
}

/// Where the dense gradients of a mask-update step are summed.
public enum DenseGradientReduction: String, CaseIterable, Sendable {
    /// Every rank gets them (`treeAllReduce`).
    case allReduce = "allreduce"
    /// Only rank 0, which alone decides masks, gets them (`treeReduce`).
    case reduceToRoot = "reduce"
}
