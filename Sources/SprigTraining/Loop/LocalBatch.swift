import SprigTensor

/// A rank's share of a global batch: its micro-batches side by side in the columns of one
/// feature-major matrix (micro-batch k of size m in columns `k m ..< (k+1) m`), with the
/// labels in the same order. It is what the data loader gathers in one pass and what a
/// training step runs in one pass when the model allows it (`TrainingStep`).
public struct LocalBatch {
    public let input: Matrix
    public let labels: [Int32]
    public let microbatches: Int

    public init(input: Matrix, labels: [Int32], microbatches: Int) {
        precondition(microbatches >= 1 && input.cols % microbatches == 0 && labels.count == input.cols,
                     "\(input.cols) columns and \(labels.count) labels are not \(microbatches) equal micro-batches")
        self.input = input
        self.labels = labels
        self.microbatches = microbatches
    }

    /// Micro-batches given one by one (`inputs[k]` features x m, with `labels[k]`), copied side by side.
    public init(microbatches inputs: [Matrix], labels: [[Int32]]) {
        precondition(!inputs.isEmpty && labels.count == inputs.count, "\(inputs.count) micro-batches with \(labels.count) label sets")
        let rows = inputs[0].rows, size = inputs[0].cols, width = size * inputs.count
        let wide = Matrix(rows: rows, cols: width)
        for (k, x) in inputs.enumerated() {
            precondition(x.rows == rows && x.cols == size, "micro-batches of different shapes")
            for r in 0..<rows { (wide.data + r * width + k * size).update(from: x.data + r * size, count: size) }
        }
        self.init(input: wide, labels: labels.flatMap { $0 }, microbatches: inputs.count)
    }

    public var microbatchSize: Int { input.cols / microbatches }

    /// Micro-batch k's labels.
    public func labels(ofMicrobatch k: Int) -> [Int32] {
        Array(labels[(k * microbatchSize)..<((k + 1) * microbatchSize)])
    }

    /// Micro-batch k's columns copied into `scratch` (features x m), which is returned.
    public func copyMicrobatch(_ k: Int, into scratch: Matrix) -> Matrix {
        let size = microbatchSize, width = input.cols
        precondition(scratch.rows == input.rows && scratch.cols == size, "scratch is not one micro-batch")
        for r in 0..<input.rows { (scratch.data + r * size).update(from: input.data + r * width + k * size, count: size) }
        return scratch
    }
}
