import MPI

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
public final class GradientTree {
    public let store: ParameterStore
    public let communicator: Communicator
    public let localMicrobatches: Int
    private var pool: [UnsafeMutablePointer<Float>] = []
    private var free: [UnsafeMutablePointer<Float>] = []
    /// Completed subtrees: (level, buffer); levels strictly decrease from bottom to top.
    private var stack: [(level: Int, buffer: UnsafeMutablePointer<Float>)] = []
    private var current: UnsafeMutablePointer<Float>?

    public init(store: ParameterStore, communicator: Communicator, localMicrobatches: Int) {
        precondition(localMicrobatches >= 1)
        self.store = store
        self.communicator = communicator
        self.localMicrobatches = localMicrobatches
        var levels = 0
        while (1 << levels) < localMicrobatches { levels += 1 }
        // The binary counter holds at most one subtree per level below the top, plus the
        // micro-batch being computed: levels + 1 buffers.
        for _ in 0...levels {
            let b = UnsafeMutablePointer<Float>.allocate(capacity: store.gradientLength)
            b.initialize(repeating: 0, count: store.gradientLength)
            pool.append(b)
        }
        free = pool
    }

    deinit {
        store.redirectGradients(to: nil)
        for b in pool { b.deallocate() }
    }

    /// Bytes of the pool.
    public var bytes: Int { pool.count * store.gradientLength * MemoryLayout<Float>.stride }

    /// Points the store's gradients at a fresh buffer for the next micro-batch.
    public func beginMicrobatch() {
        precondition(current == nil, "beginMicrobatch twice")
        let b = free.removeLast()
        current = b
        store.redirectGradients(to: b)
    }

    /// Files the finished micro-batch's gradient into the tree.
    public func endMicrobatch() {
        guard var right = current else { preconditionFailure("endMicrobatch without beginMicrobatch") }
        current = nil
        var level = 0
        let n = store.gradientLength
        while let top = stack.last, top.level == level {
            stack.removeLast()
            let left = top.buffer
            for i in 0..<n { left[i] += right[i] }
            free.append(right)
            right = left
            level += 1
        }
        stack.append((level, right))
    }

    /// Adds up what is left on the stack (when the local count is not a power of two, the
    /// smaller subtrees from right to left), sums across ranks, and leaves the global
    /// gradient in the buffer the store's gradients point at, valid until the next
    /// `beginMicrobatch`.
    public func finish() {
        precondition(current == nil && !stack.isEmpty, "finish without micro-batches")
        var right = stack.removeLast().buffer
        while let top = stack.popLast() {
            let left = top.buffer
            for i in 0..<store.gradientLength { left[i] += right[i] }
            free.append(right)
            right = left
        }
        store.redirectGradients(to: right)
        communicator.treeAllReduce(UnsafeMutableBufferPointer(start: right, count: store.gradientLength), kind: .gradients)
        free.append(right)
    }
}
