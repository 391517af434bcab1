import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity
import SprigDistributed

/// Evaluation over the replicas.
extension Trainer {
    /// Accuracy and mean loss on `dataset`: each rank evaluates a contiguous share and the
    /// counts are summed.
    public func evaluate(_ dataset: Dataset) -> (accuracy: Double, loss: Double) {
        let n = dataset.count
        let lo = n * replicas.rank / replicas.count
        let hi = n * (replicas.rank + 1) / replicas.count
        var labels: [Int32] = []
        var totals = [0.0, 0.0] // correct, loss sum
        var start = lo
        while start < hi {
            let end = min(start + config.evalBatchSize, hi)
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
