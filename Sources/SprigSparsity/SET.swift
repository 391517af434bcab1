import SprigLayers

/// SET (Mocanu, Mocanu, Stone, Nguyen, Gibescu, Liotta, "Scalable training of artificial
/// neural networks with adaptive sparse connectivity inspired by network science", Nature
/// Communications 2018): grow connections chosen uniformly at random among the free ones.
/// The optimizer steps first, then the masks change (as in TimDettmers/sparse_learning).
public final class SET: DropAndGrow {
    public override func grow(_ k: Int, layer l: Int, among isCandidate: (Int) -> Bool, by choose: TopK,
                              context: MaskContext) -> [Int] {
        // A uniform random score per connection, a hash of (seed, step, layer, index).
        let draws = TopK(seed: seed, purpose: .maskInit, step: context.step, layer: l)
        let layer = context.layers[l]
        return choose.largest(k, count: layer.inputFeatures * layer.outputFeatures, isCandidate: isCandidate,
                              score: { Float(draws.key($0) >> 40) })
    }
}
