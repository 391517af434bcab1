import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity
import SprigDistributed

/// Evaluation over the replicas.
extension Trainer {
    /// Examples per evaluation batch: `eval_batch_size`, or fewer when the widest layer's
    /// activations (or a convolution's patch matrix, C k k values per output position) for
    /// that many examples would pass 64 MB (wide sparse models: a 250000-wide layer
    /// evaluates 67 examples at a time instead of holding 1 GB per activation). A model with
    /// convolutions evaluates a multiple of 16 examples at a time where it can, the batches
    /// that `Conv2D`'s im2col-free paths take.
    var evaluationBatch: Int {
        let widest = model.leaves.reduce(model.layers.first?.inputFeatures ?? 1) { w, layer in
            let patches = (layer as? Conv2D).map { $0.inputChannels * $0.kernel * $0.kernel * $0.positions } ?? 0
            return max(w, layer.outputFeatures, patches)
        }
        let batch = max(1, min(config.evalBatchSize, (64 << 20) / (4 * widest)))
        let convolutional = model.leaves.contains { $0 is Conv2D }
        return convolutional && batch >= PatchPanels.panelWidth ? batch - batch % PatchPanels.panelWidth : batch
    }

    /// Accuracy and mean loss on `dataset`, the same bits on any number of ranks.
    ///
    /// The set is cut into batches of `evaluationBatch` examples from the start, whatever
    /// the number of ranks; rank r of n evaluates batches `r m / n ..< (r + 1) m / n` of m.
    /// Each batch's correct count and loss sum go into its own slot of a vector that is
    /// zero elsewhere, one all-reduce (sum) fills every slot exactly (x + 0 = x), and
    /// every rank adds the batches' loss sums in batch order: the sum one process makes.
    public func evaluate(_ dataset: Dataset) -> (accuracy: Double, loss: Double) {
        let n = dataset.count
        let batch = evaluationBatch
        let batches = (n + batch - 1) / batch
        var labels: [Int32] = []
        var slots = [Double](repeating: 0, count: 2 * batches) // per batch: correct, loss sum
        for b in (batches * replicas.rank / replicas.count)..<(batches * (replicas.rank + 1) / replicas.count) {
            let start = b * batch, end = min(start + batch, n)
            let x = Matrix(rows: dataset.featureCount, cols: end - start)
            dataset.gather((Int32(start)..<Int32(end)), normalization: normalization, into: x, labels: &labels)
            let (outcome, _) = loss(model.forward(x), labels: labels, gradientScale: nil)
            slots[2 * b] = Double(outcome.correct)
            slots[2 * b + 1] = outcome.lossSum
        }
        replicas.sum(&slots)
        var correct = 0.0, lossSum = 0.0
        for b in 0..<batches {
            correct += slots[2 * b]
            lossSum += slots[2 * b + 1]
        }
        return (correct / Double(n), lossSum / Double(n))
    }
}
