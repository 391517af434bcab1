import SprigTensor
import SprigLayers

/// One NNrelief pruning round on a model whose weight layers are all sparse products:
/// statistics of every layer from one forward pass over the pruning set (so the next
/// layer's statistics are taken before the current one is pruned), then the decisions.
///
/// Statistics per weight layer, summed over examples (the caller sums them over ranks and
/// divides by the pruning-set size): for a fully connected layer, `sum_n |x_ni|` per
/// input; for a convolution, `sum_n || |K_jc| * |x_nc| ||_F` per (output, input) channel
/// pair; and for every layer, each neuron's (channel's) summed activation after its ReLU,
/// which finds dead neurons. They are laid out in one flat buffer, for one all-reduce.
public final class NNreliefPruner: MaskPolicy {
    public let model: Sequential
    public let alphaFC: Double
    public let alphaConv: Double

    /// A weight layer: its position in `model.layers`, its product, its convolution.
    struct WeightLayer {
        var index: Int
        var product: SparseLinear
        var conv: Conv2D?
    }

    var weightLayers: [WeightLayer] {
        model.sparseLayers.map { WeightLayer(index: $0.index, product: $0.layer, conv: model.leaves[$0.index] as? Conv2D) }
    }

    public init(model: Sequential, alphaFC: Double = 0.95, alphaConv: Double = 0.9) {
        self.model = model
        self.alphaFC = alphaFC
        self.alphaConv = alphaConv
    }

    /// Per weight layer: (input statistics count, neuron count), fixing the buffer layout.
    private var layout: [(inputs: Int, neurons: Int)] {
        weightLayers.map { w in
            if let c = w.conv { return (c.outputChannels * c.inputChannels, c.outputChannels) }
            return (w.product.inputFeatures, w.product.outputFeatures)
        }
    }

    /// The statistics of this round, summed over the whole pruning set of `examples`, for
    /// `decide` (set by the trainer once every rank's share is in).
    public var statistics: (sums: [Double], examples: Int)?

    /// NNrelief prunes between retraining rounds (`Trainer.pruneWithNNrelief`), never
    /// during a training step.
    public func updatesMasks(atStep t: Int) -> Bool { false }

    /// The round's decision from `statistics`.
    public func decide(_ context: MaskContext) -> [MaskDiff] {
        guard let statistics else { preconditionFailure("NNrelief decides from a round's statistics") }
        return decide(statistics: statistics.sums, examples: statistics.examples)
    }

    /// The length of the statistics buffer.
    public var statisticsCount: Int { layout.reduce(0) { $0 + $1.inputs + $1.neurons } }

    /// Adds the statistics of one batch `x` (features x batch) to `stats`.
    public func accumulate(_ x: Matrix, into stats: inout [Double]) {
        let layers = weightLayers
        let byIndex = Dictionary(uniqueKeysWithValues: layers.enumerated().map { ($1.index, $0) })
        var offsets: [Int] = []
        var o = 0
        for l in layout { offsets.append(o); o += l.inputs + l.neurons }
        let lastIndex = layers.last!.index
        // A layer's neurons' activity is the output of the first ReLU after it (past any
        // batch norm, and in a residual block the ReLU after the addition, which the
        // shortcut's convolution shares), or its own output for the last layer.
        var pending: [Int] = []
        _ = model.forward(x) { i, input, output in
            if let l = byIndex[i] {
                let w = layers[l]
                if let conv = w.conv {
                    accumulateConv(conv, product: w.product, into: &stats, at: offsets[l])
                } else {
                    for f in 0..<input.rows {
                        let row = input.data + f * input.cols
                        var s = 0.0
                        for n in 0..<input.cols { s += Double(abs(row[n])) }
                        stats[offsets[l] + f] += s
                    }
                }
                if i == lastIndex {
                    accumulateActivity(output, neurons: layout[l].neurons, into: &stats, at: offsets[l] + layout[l].inputs)
                } else {
                    pending.append(l)
                }
            } else if model.leaves[i] is ReLU {
                for l in pending {
                    precondition(output.rows % layout[l].neurons == 0, "a ReLU of another width than the layer before it")
                    accumulateActivity(output, neurons: layout[l].neurons, into: &stats, at: offsets[l] + layout[l].inputs)
                }
                pending = []
            }
        }
    }

    /// Summed activation per neuron (for a convolution, per channel over its positions).
    private func accumulateActivity(_ y: Matrix, neurons: Int, into stats: inout [Double], at offset: Int) {
        let perNeuron = y.rows / neurons
        for j in 0..<neurons {
            var s = 0.0
            let base = y.data + j * perNeuron * y.cols
            for k in 0..<(perNeuron * y.cols) { s += Double(base[k]) }
            stats[offset + j] += s
        }
    }

    /// `sum_n || |K_jc| * |x_nc| ||_F` for every (j, c), from the layer's patch matrix.
    private func accumulateConv(_ conv: Conv2D, product: SparseLinear, into stats: inout [Double], at offset: Int) {
        guard let patches = conv.lastPatches else { return }
        let kk = conv.kernel * conv.kernel, columns = patches.cols, batch = columns / conv.positions
        // |W| as a dense O x (C k k) matrix
        var w = [Float](repeating: 0, count: product.outputFeatures * product.inputFeatures)
        let values = product.activeWeights
        for (k, index) in product.pattern.activeIndices.enumerated() { w[index] = abs(values[k]) }
        var map = [Float](repeating: 0, count: columns)
        for j in 0..<conv.outputChannels {
            for c in 0..<conv.inputChannels {
                let kernel = (0..<kk).map { w[j * product.inputFeatures + c * kk + $0] }
                guard kernel.contains(where: { $0 != 0 }) else { continue }
                map.withUnsafeMutableBufferPointer { m in
                    m.update(repeating: 0)
                    for t in 0..<kk where kernel[t] != 0 {
                        let row = patches.data + (c * kk + t) * columns
                        let wt = kernel[t]
                        for q in 0..<columns { m[q] += wt * abs(row[q]) }
                    }
                    var total = 0.0
                    for n in 0..<batch {
                        var f = 0.0
                        for p in 0..<conv.positions { let v = Double(m[p * batch + n]); f += v * v }
                        total += f.squareRoot()
                    }
                    stats[offset + j * conv.inputChannels + c] += total
                }
            }
        }
    }

    /// The pruning decision from statistics summed over the whole pruning set of `examples`.
    public func decide(statistics stats: [Double], examples: Int) -> [MaskDiff] {
        let layers = weightLayers
        let n = Double(examples)
        var offset = 0
        var dropped: [Set<Int>] = []
        var prunedBiases: [Set<Int>] = []
        for (l, w) in layers.enumerated() {
            let (inputs, neurons) = layout[l]
            let inputStats = stats[offset..<(offset + inputs)].map { $0 / n }
            let activity = Array(stats[(offset + inputs)..<(offset + inputs + neurons)])
            offset += inputs + neurons
            let p = w.product.pattern, values = w.product.activeWeights, bias = w.product.biasValues
            let isOutput = l == layers.count - 1
            var drop = Set<Int>(), biases = Set<Int>()
            for j in 0..<neurons {
                let range = Int(p.rowStart[j])..<Int(p.rowStart[j + 1])
                let flat = range.map { j * p.cols + Int(p.columns[$0]) }
                if !isOutput && activity[j] == 0 { // a dead neuron goes whole
                    drop.formUnion(flat)
                    biases.insert(j)
                    continue
                }
                if let conv = w.conv {
                    let kk = conv.kernel * conv.kernel
                    let kernels = Array(Set(range.map { Int(p.columns[$0]) / kk })).sorted()
                    let (scores, b) = NNrelief.convScores(kernelActivity: kernels.map { inputStats[j * conv.inputChannels + $0] },
                                                          bias: bias[j], positions: conv.positions)
                    let (kept, keepsBias) = NNrelief.keep(scores: scores, biasScore: b, alpha: alphaConv)
                    let keptKernels = Set(kept.map { kernels[$0] })
                    for (k, f) in zip(range, flat) where !keptKernels.contains(Int(p.columns[k]) / kk) { drop.insert(f) }
                    if !keepsBias { biases.insert(j) }
                } else {
                    let (scores, b) = NNrelief.fcScores(weights: range.map { values[$0] }, columns: range.map { Int(p.columns[$0]) },
                                                        inputMeans: inputStats, bias: bias[j])
                    let (kept, keepsBias) = NNrelief.keep(scores: scores, biasScore: b, alpha: alphaFC)
                    let keptSet = Set(kept)
                    for (i, f) in flat.enumerated() where !keptSet.contains(i) { drop.insert(f) }
                    if !keepsBias { biases.insert(j) }
                }
            }
            dropped.append(drop)
            prunedBiases.append(biases)
        }
        // Neurons left without outgoing connections go too, from the last layer down so
        // that removals cascade, where the next weight layer reads this one's output alone
        // (not across a residual addition, whose other branch still reads it).
        let feeds = feedsNext
        for l in stride(from: layers.count - 2, through: 0, by: -1) where feeds[l] {
            let next = layers[l + 1].product.pattern
            let neurons = layout[l].neurons
            let group = layers[l + 1].conv.map { $0.kernel * $0.kernel } ?? next.cols / neurons
            var hasOutgoing = [Bool](repeating: false, count: neurons)
            for r in 0..<next.rows {
                for k in Int(next.rowStart[r])..<Int(next.rowStart[r + 1]) where !dropped[l + 1].contains(r * next.cols + Int(next.columns[k])) {
                    hasOutgoing[Int(next.columns[k]) / group] = true
                }
            }
            let p = layers[l].product.pattern
            for j in 0..<neurons where !hasOutgoing[j] {
                for k in Int(p.rowStart[j])..<Int(p.rowStart[j + 1]) { dropped[l].insert(j * p.cols + Int(p.columns[k])) }
                prunedBiases[l].insert(j)
            }
        }
        return layers.indices.map {
            MaskDiff(sparseLayer: $0, dropped: dropped[$0].sorted(), grown: [],
                     prunedBiases: prunedBiases[$0].subtracting(layers[$0].product.frozenBiases).sorted())
        }
    }

    /// Per weight layer: whether the next one reads its output and nothing else does (they
    /// follow each other in one chain of layers, with no residual block between them; a
    /// block's parts are chains of their own).
    var feedsNext: [Bool] {
        let layers = weightLayers
        let position = Dictionary(uniqueKeysWithValues: layers.enumerated().map { (ObjectIdentifier(model.leaves[$1.index]), $0) })
        var feeds = [Bool](repeating: false, count: layers.count)
        func scan(_ chain: [Layer]) {
            var last: Int?
            for layer in chain {
                if let block = layer as? ResidualBlock {
                    for part in [block.pre, block.body, block.shortcut ?? [], block.post] { scan(part) }
                    last = nil
                } else if let l = position[ObjectIdentifier(layer)] {
                    if let last, last + 1 == l { feeds[last] = true }
                    last = l
                }
            }
        }
        scan(model.layers)
        return feeds
    }

    /// Neurons (channels) per weight layer with no incoming connection and a pruned bias.
    public var removedNeurons: [Int] {
        weightLayers.map { w in
            let p = w.product.pattern
            let frozen = Set(w.product.frozenBiases)
            return (0..<p.rows).filter { p.rowStart[$0] == p.rowStart[$0 + 1] && frozen.contains($0) }.count
        }
    }
}
