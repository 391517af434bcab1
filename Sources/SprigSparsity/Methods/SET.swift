import SprigTensor
import SprigLayers

/// SET (Mocanu, Mocanu, Stone, Nguyen, Gibescu, Liotta, "Scalable training of artificial
/// neural networks with adaptive sparse connectivity inspired by network science", Nature
/// Communications 2018): grow k connections chosen uniformly at random among the free ones.
/// The optimizer steps first, then the masks change (as in TimDettmers/sparse_learning).
///
/// The k are sampled, not scored: positions are drawn uniformly from the layer's
/// `rows x cols` from the stream (seed, grow, step, layer), and a draw that is kept or
/// already chosen is drawn again, which gives a uniform random k-subset of the free
/// positions in time and memory proportional to k, whatever the layer's dense size. When
/// fewer than a quarter of the positions are free (a nearly dense layer, whose active
/// weights are then most of its size anyway), the free positions are listed and k of them
/// taken by a partial Fisher-Yates shuffle from the same stream.
public final class SET: DropAndGrow, MethodDefinition {
    public static let name = "set"
    public static let summary = "drop the smallest |w|, grow at random (Mocanu et al. 2018)"

    public static func traits(_ options: MethodOptions) -> MethodTraits {
        var traits = MethodTraits()
        traits.changesMasks = true
        return traits
    }

    public static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy? { SET(schedule: inputs.schedule, seed: inputs.seed) }

    public override func grow(_ k: Int, layer l: Int, kept: KeptPositions, by choose: TopK, context: MaskContext) -> [Int] {
        var random = StatelessRandom(seed: seed, purpose: .grow, step: context.step, layer: l)
        let total = kept.rows * kept.cols
        precondition(k <= kept.freeCount, "cannot grow \(k) of \(kept.freeCount) free connections")
        if 4 * kept.freeCount < total {
            var free: [Int] = []
            free.reserveCapacity(kept.freeCount)
            for r in 0..<kept.rows { kept.forEachFree(inRow: r) { free.append(r * kept.cols + $0) } }
            for i in 0..<k { free.swapAt(i, i + random.nextInt(below: free.count - i)) }
            return free[..<k].sorted()
        }
        var chosen = Set<Int>()
        chosen.reserveCapacity(k)
        while chosen.count < k {
            let p = random.nextInt(below: total)
            if !kept.contains(p) { chosen.insert(p) }
        }
        return chosen.sorted()
    }
}
