import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity
import SprigDistributed

/// Evaluation over the replicas.
extension Trainer {
    /// Examples per evaluation batch: `eval_batch_size`, or fewer when the widest layer's
    /// activations for that many examples would pass 64 MB (wide sparse models: a
    /// 250000-wide layer evaluates 67 examples at a time instead of holding 1 GB per
    /// activation).
    var evaluationBatch: Int {
        let widest = model.layers.reduce(model.layers.first?.inputFeatures ?? 1) { max($0, $1.outputFeatures) }
        return max(1, min(config.evalBatchSize, (64 << 20) / (4 * widest)))
    }

    /// Accuracy and mean loss on `dataset`: each rank evaluates a contiguous share and the
    /// counts are summed.
    public func evaluate(_ dataset: Dataset) -> (accuracy: Double, loss: Double) {
        let n = dataset.count
        let lo = n * replicas.rank / replicas.count
        let hi = n * (replicas.rank + 1) / replicas.count
        var labels: [Int32] = []
        var totals = [0.0, 0.0] // correct, loss sum
        let batch = evaluationBatch
        var start = lo
        while start < hi {
            let end = min(start + batch, hi)
            let x = Matrix(rows: dataset.featureCount, cols: end - start)
            dataset.gather((Int32(start)..<Int32(end)), normalization: normalization, into: x, labels: &labels)
            let (outcome, _) = loss(model.forward(x), labels: labels, gradientScale: nil)
            totals[0] += Double(outcome.correct)
            totals[1] += outcome.lossSum
            start = end
        }
        replicas.sum(&totals)
        return (totals[0] / Double(n), totals[1] / Double(n))
    }
}
