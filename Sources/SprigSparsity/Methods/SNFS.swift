import SprigLayers

/// SNFS, sparse momentum (Dettmers & Zettlemoyer, "Sparse networks from scratch: faster
/// training without losing performance", 2019): grow the connections with the largest
/// |moving average of the dense gradient|, `m = beta m + (1 - beta) g` with beta the
/// momentum (0.9), updated every step: SNFS computes dense gradients on every step, and
/// its moving average is dense by definition. The optimizer steps first, then the masks
/// change (TimDettmers/sparse_learning).
///
/// With `redistribute` (off by default as in the RigL reference; on in sparse_learning) the
/// weights dropped in all layers are regrown in proportion to each layer's mean |m| over
/// its active weights, capped by the layer's free connections, so layer sizes change while
/// the total stays fixed.
public final class SNFS: DropAndGrow, MethodDefinition {
    public static let name = "snfs"
    public static let summary = "drop the smallest |w|, grow the largest |momentum of the dense gradient| (Dettmers & Zettlemoyer 2019)"
    public static let options = [
        MethodOption("snfs_momentum", default: 0.9, summary: "beta, the momentum of the dense gradients' moving average",
                     check: MethodOption.within(0, 1, highOpen: true)),
        MethodOption("redistribution", default: 0, isFlag: true,
                     summary: "move budget between layers by their mean |moving average| (on in sparse_learning)"),
    ]

    public static func traits(_ options: MethodOptions) -> MethodTraits {
        var traits = MethodTraits()
        traits.changesMasks = true
        traits.denseGradients = .everyStep
        traits.keepsCountPerLayer = !options.flag("redistribution")
        traits.memoryFollowsActiveWeights = false
        return traits
    }

    public static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy? {
        SNFS(schedule: inputs.schedule, seed: inputs.seed, momentum: inputs.options["snfs_momentum"],
             redistribute: inputs.options.flag("redistribution"))
    }

    /// The momentum of the moving average.
    public let momentum: Float
    /// Move budget between layers at each update.
    public let redistribute: Bool
    /// The moving averages, one dense buffer per sparse layer (empty until the first step);
    /// part of a checkpoint.
    public var averages: [[Float]] = []

    public init(schedule: DropFractionSchedule, seed: UInt64, momentum: Double = 0.9, redistribute: Bool = false) {
        self.momentum = Float(momentum)
        self.redistribute = redistribute
        super.init(schedule: schedule, seed: seed)
    }

    public override func needsDenseGradients(atStep t: Int) -> Bool { true }

    public override var state: [[Float]] {
        get { averages }
        set { averages = newValue }
    }

    public override func stateCounts(_ layers: [SparseLinear]) -> [Int] { layers.map { $0.inputFeatures * $0.outputFeatures } }

    /// Folds this step's dense gradients into the moving averages (`m = beta m + (1 - beta) g`).
    public override func observe(_ context: MaskContext) {
        if averages.isEmpty {
            averages = context.layers.map { [Float](repeating: 0, count: $0.inputFeatures * $0.outputFeatures) }
        }
        let beta = momentum
        for l in context.layers.indices {
            guard let g = context.denseGradient(l) else { preconditionFailure("SNFS needs dense gradients") }
            averages[l].withUnsafeMutableBufferPointer { m in
                for i in 0..<m.count { m[i] = beta * m[i] + (1 - beta) * g[i] }
            }
        }
    }

    public override func grow(_ k: Int, layer l: Int, kept: KeptPositions, by choose: TopK, context: MaskContext) -> [Int] {
        var selection = TopK.Selection(k, keys: choose)
        averages[l].withUnsafeBufferPointer { m in
            for r in 0..<kept.rows { kept.offerFree(inRow: r, to: &selection) { abs(m[r * kept.cols + $0]) } }
        }
        precondition(selection.count == k, "cannot grow \(k) of \(selection.count) candidates")
        return selection.positions
    }

    public override func growCounts(drops: [LayerDrop], context: MaskContext) -> [Int] {
        redistribute ? redistributedGrowth(layers: context.layers, drops: drops) : drops.map(\.dropped.count)
    }

    /// SNFS redistribution: the K weights dropped over all layers are regrown in shares
    /// proportional to each layer's mean |moving average| over its active weights, each
    /// layer capped at its free connections; what the rounding and the caps leave goes to
    /// the layers with the largest remainders that still have room.
    func redistributedGrowth(layers: [SparseLinear], drops: [LayerDrop]) -> [Int] {
        let total = drops.reduce(0) { $0 + $1.dropped.count }
        let stats: [Double] = layers.indices.map { l in
            let active = drops[l].active
            guard !active.isEmpty else { return 0 }
            return averages[l].withUnsafeBufferPointer { m in active.reduce(0.0) { $0 + Double(abs(m[$1])) } } / Double(active.count)
        }
        let capacity = layers.indices.map { l in
            layers[l].inputFeatures * layers[l].outputFeatures - (drops[l].active.count - drops[l].dropped.count)
        }
        let sum = stats.reduce(0, +)
        guard sum > 0 else { return drops.map(\.dropped.count) }
        let ideal = stats.map { Double(total) * $0 / sum }
        var counts = layers.indices.map { min(Int(ideal[$0].rounded(.down)), capacity[$0]) }
        var left = total - counts.reduce(0, +)
        while left > 0 {
            let open = layers.indices.filter { counts[$0] < capacity[$0] }
            guard !open.isEmpty else { break }
            let next = open.max { (ideal[$0] - Double(counts[$0]), -$0) < (ideal[$1] - Double(counts[$1]), -$1) }!
            counts[next] += 1
            left -= 1
        }
        return counts
    }
}
