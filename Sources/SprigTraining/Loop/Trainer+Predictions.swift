import SprigTensor
import SprigData

/// Per-example predictions (`sprig eval --predictions`), for comparing Sprig's forward pass
/// with another implementation's example by example.
extension Trainer {
    /// The predicted class of every example of `dataset`, in file order: the arg-max of the
    /// logits, the first of equal maxima (as `SoftmaxCrossEntropy` counts correct
    /// predictions, and as `torch.argmax` picks). Computed by this process alone.
    public func predictions(_ dataset: Dataset) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(dataset.count)
        var labels: [Int32] = []
        let batch = evaluationBatch
        var start = 0
        while start < dataset.count {
            let end = min(start + batch, dataset.count), b = end - start
            let x = Matrix(rows: dataset.featureCount, cols: b)
            dataset.gather((Int32(start)..<Int32(end)), normalization: normalization, into: x, labels: &labels)
            let z = model.forward(x)
            for j in 0..<b {
                var best = 0
                for i in 1..<z.rows where z.data[i * b + j] > z.data[best * b + j] { best = i }
                out.append(best)
            }
            start = end
        }
        return out
    }
}
