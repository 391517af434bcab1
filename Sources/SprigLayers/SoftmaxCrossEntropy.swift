import SprigTensor
import Foundation

/// Softmax cross-entropy on feature-major logits `Z` (classes x batch):
/// `loss_j = log(sum_i exp(z_ij)) - z_(y_j) j`, with gradient
/// `dZ_ij = scale * (softmax(z_j)_i - [i = y_j])`.
///
/// `scale` is `1 / global batch`, so that the gradients the ranks sum are the gradient of
/// the mean loss over the global batch.
public final class SoftmaxCrossEntropy {
    private var gradient: Matrix?

    public init() {}

    /// The summed loss and the number of correct arg-max predictions of a batch.
    public struct Outcome {
        public var lossSum: Double
        public var correct: Int
    }

    /// Evaluates the loss of `logits` against `labels`; when `gradientScale` is given, also
    /// returns `dZ` (a buffer owned by this object, valid until the next call).
    public func callAsFunction(_ logits: Matrix, labels: [Int32], gradientScale: Float?) -> (Outcome, Matrix?) {
        let (sums, correct, dz) = evaluate(logits, labels: labels, gradientScale: gradientScale, segments: 1)
        return (Outcome(lossSum: sums[0], correct: correct), dz)
    }

    /// The loss and `dZ` of `segments` equal micro-batches side by side in the columns: the
    /// loss summed over each micro-batch's examples in order, bitwise as if it ran alone.
    public func callAsFunction(_ logits: Matrix, labels: [Int32], gradientScale: Float, segments: Int) -> (lossSums: [Double], gradient: Matrix) {
        let (sums, _, dz) = evaluate(logits, labels: labels, gradientScale: gradientScale, segments: segments)
        return (sums, dz!)
    }

    private func evaluate(_ logits: Matrix, labels: [Int32], gradientScale: Float?, segments: Int) -> ([Double], Int, Matrix?) {
        let classes = logits.rows, batch = logits.cols
        precondition(segments >= 1 && batch % segments == 0, "\(batch) columns are not \(segments) equal micro-batches")
        let size = batch / segments
        precondition(labels.count == batch, "\(labels.count) labels for a batch of \(batch)")
        var dz: Matrix?
        if gradientScale != nil {
            dz = Matrix.reuse(gradient, rows: classes, cols: batch)
            gradient = dz
        }
        var lossSums = [Double](repeating: 0, count: segments)
        var correct = 0
        let z = UnsafePointer(logits.data)
        let gradient = dz?.data
        let scale = gradientScale ?? 0
        withUnsafeTemporaryAllocation(of: Float.self, capacity: classes) { probabilities in
            labels.withUnsafeBufferPointer { labels in
                for j in 0..<batch {
                    var maxValue = -Float.infinity
                    var argmax = 0
                    for i in 0..<classes where z[i * batch + j] > maxValue {
                        maxValue = z[i * batch + j]
                        argmax = i
                    }
                    var sum: Float = 0
                    for i in 0..<classes {
                        let e = expf(z[i * batch + j] - maxValue)
                        probabilities[i] = e
                        sum += e
                    }
                    let label = Int(labels[j])
                    lossSums[j / size] += Double(logf(sum) - (z[label * batch + j] - maxValue))
                    if argmax == label { correct += 1 }
                    if let gradient {
                        let inv = scale / sum
                        for i in 0..<classes {
                            gradient[i * batch + j] = probabilities[i] * inv - (i == label ? scale : 0)
                        }
                    }
                }
            }
        }
        return (lossSums, correct, dz)
    }
}
