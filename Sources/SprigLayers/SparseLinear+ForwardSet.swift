import SprigTensor

/// A subset of a sparse layer's active weights outside which every weight is zero between
/// optimizer steps (Top-KAST's forward set A within its backward set B, Jayakumar et al.,
/// NeurIPS 2020): its pattern, the CSR indices of its weights among the layer's active ones,
/// and a buffer their values are gathered into before each product.
final class ForwardSet {
    let pattern: SparsePattern
    let members: [Int32]
    let values: UnsafeMutablePointer<Float>

    init(pattern: SparsePattern, members: [Int32]) {
        self.pattern = pattern
        self.members = members
        values = .allocate(capacity: max(members.count, 1))
    }

    deinit { values.deallocate() }
}

extension SparseLinear {
    /// Declares that between optimizer steps only the active weights at `members` (CSR
    /// indices, ascending) may be nonzero, or (nil) any of them. With a forward set on the
    /// sparse kernels, the forward pass and the input gradient multiply by it alone, its
    /// values gathered first (`W X` is the same: the other weights are zero), and the weight
    /// gradient still covers the whole mask: Top-KAST's step then costs `2 f_A + f_B`. A new
    /// mask clears it. The dense-math path, and convolutions on their own kernels, multiply
    /// by the whole mask.
    public func setForwardSet(_ members: [Int]?) {
        forwardSet = nil
        guard let members, members.count < pattern.activeCount else { return }
        let active = pattern.activeIndices
        forwardSet = ForwardSet(pattern: SparsePattern(rows: outputFeatures, cols: inputFeatures, activeIndices: members.map { active[$0] }),
                                members: members.map { Int32($0) })
    }

    /// The pattern and values the forward pass and the input gradient multiply by: the
    /// forward set's (its values gathered), or the whole mask's.
    func sparseProduct() -> (SparsePattern, UnsafePointer<Float>) {
        let w = activeWeights.baseAddress!
        guard let f = forwardSet else { return (pattern, w) }
        for (i, k) in f.members.enumerated() { f.values[i] = w[Int(k)] }
        return (f.pattern, UnsafePointer(f.values))
    }
}
