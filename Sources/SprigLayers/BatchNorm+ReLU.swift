/// A ReLU right after a batch norm, fused into it.
extension BatchNorm {
    /// Fuses every ReLU that directly follows a batch norm in `chain` (layers that run one
    /// after the other, each reading the last one's output) into that batch norm: the batch
    /// norm then writes `max(0, y)` and takes the ReLU's gradient `dy [y > 0]` while its
    /// values are in cache, and the ReLU passes both through. The values and gradients are
    /// the unfused pair's, bit for bit; what is saved is the ReLU's two passes over memory,
    /// forward and backward.
    static func fuseReLUs(in chain: [Layer]) {
        for (first, second) in zip(chain, chain.dropFirst()) {
            guard let norm = first as? BatchNorm, let relu = second as? ReLU else { continue }
            norm.appliesReLU = true
            relu.isFused = true
        }
    }
}
