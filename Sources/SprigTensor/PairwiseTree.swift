/// The order in which Sprig adds the micro-batches of a global batch: a pairwise tree
///
///     T(0, M),  T(lo, hi) = T(lo, mid) + T(mid, hi),  T(k, k+1) = leaf k,
///
/// built as a binary counter. Each pushed leaf is combined with the completed subtree of
/// equal size on top of the stack (the left operand), repeatedly, so the stack holds at
/// most one subtree per level and `log2(M) + 1` leaves are alive at once. `finish` adds
/// what is left (when M is not a power of two, the smaller subtrees from right to left).
///
/// One implementation for every sum that must come out bitwise alike: the gradient tree
/// (`GradientTree`, gradients and dense gradients of the local micro-batches) and RigL's
/// dense gradient computed tile by tile from its factors (`TiledDenseGradient`).
public struct PairwiseTree<Leaf> {
    private var stack: [(level: Int, leaf: Leaf)] = []

    public init() {}

    /// True before the first leaf and after `finish`.
    public var isEmpty: Bool { stack.isEmpty }

    /// Files the next leaf; `combine(left, right)` must add `right` into `left` (and may
    /// release `right`).
    public mutating func push(_ leaf: Leaf, combine: (_ left: Leaf, _ right: Leaf) -> Void) {
        var right = leaf
        var level = 0
        while let top = stack.last, top.level == level {
            stack.removeLast()
            combine(top.leaf, right)
            right = top.leaf
            level += 1
        }
        stack.append((level, right))
    }

    /// The sum of every leaf pushed, in the leaf that holds it; the tree is empty after.
    public mutating func finish(combine: (_ left: Leaf, _ right: Leaf) -> Void) -> Leaf {
        guard var right = stack.popLast()?.leaf else { preconditionFailure("finish of an empty pairwise tree") }
        while let top = stack.popLast() {
            combine(top.leaf, right)
            right = top.leaf
        }
        return right
    }
}

extension PairwiseTree where Leaf == Int {
    /// The additions of a tree over leaves `0 ..< leaves`, in the order `push` and `finish`
    /// make them: add leaf `right` into leaf `left`, pair after pair; the sum ends in `root`.
    /// For sums whose leaves are all at hand at once (`DenseKernels`' segments, the loss
    /// sums of a step's micro-batches), in the same order as the tree built leaf by leaf.
    public static func schedule(leaves: Int) -> (additions: [(left: Int, right: Int)], root: Int) {
        precondition(leaves >= 1, "a pairwise tree needs a leaf")
        var tree = PairwiseTree<Int>()
        var additions: [(left: Int, right: Int)] = []
        for leaf in 0..<leaves { tree.push(leaf) { additions.append(($0, $1)) } }
        let root = tree.finish { additions.append(($0, $1)) }
        return (additions, root)
    }
}
