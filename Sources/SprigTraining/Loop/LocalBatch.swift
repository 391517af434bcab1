import SprigTensor

/// A rank's share of a global batch, its M local micro-batches of m examples each, in one
/// of two layouts: side by side in the columns of one feature-major matrix (micro-batch k
/// in columns `k m ..< (k+1) m`), which a step that runs them in one pass reads, or one
/// matrix per micro-batch, which a step that runs one pass per micro-batch reads. The
/// loader gathers the layout the step asks for (`TrainingStep.runsSideBySide(atStep:)`);
/// the other is made by copying.
public struct LocalBatch {
    /// The micro-batches side by side (nil when given one by one).
    public let sideBySide: Matrix?
    /// One matrix per micro-batch (empty when given side by side).
    public let parts: [Matrix]
    /// Every example's label, micro-batch after micro-batch.
    public let labels: [Int32]
    public let microbatches: Int
    public let microbatchSize: Int
    public let features: Int

    /// Micro-batches side by side in `input`'s columns, with their labels in order.
    public init(input: Matrix, labels: [Int32], microbatches: Int) {
        precondition(microbatches >= 1 && input.cols % microbatches == 0 && labels.count == input.cols,
                     "\(input.cols) columns and \(labels.count) labels are not \(microbatches) equal micro-batches")
        sideBySide = input
        parts = []
        self.labels = labels
        self.microbatches = microbatches
        microbatchSize = input.cols / microbatches
        features = input.rows
    }

    /// Micro-batches one by one (`inputs[k]` features x m, with `labels[k]`).
    public init(microbatches inputs: [Matrix], labels: [[Int32]]) {
        precondition(!inputs.isEmpty && labels.count == inputs.count, "\(inputs.count) micro-batches with \(labels.count) label sets")
        let size = inputs[0].cols
        precondition(inputs.allSatisfy { $0.rows == inputs[0].rows && $0.cols == size } && labels.allSatisfy { $0.count == size },
                     "micro-batches of different shapes")
        sideBySide = nil
        parts = inputs
        self.labels = labels.flatMap { $0 }
        microbatches = inputs.count
        microbatchSize = size
        features = inputs[0].rows
    }

    /// Micro-batch k's labels.
    public func labels(ofMicrobatch k: Int) -> ArraySlice<Int32> {
        labels[(k * microbatchSize)..<((k + 1) * microbatchSize)]
    }

    /// Micro-batch k as a matrix of its own: its part, or its columns copied into `scratch`
    /// (features x m).
    public func microbatch(_ k: Int, scratch: () -> Matrix) -> Matrix {
        guard let wide = sideBySide else { return parts[k] }
        if microbatches == 1 { return wide }
        let target = scratch(), size = microbatchSize, width = wide.cols
        for r in 0..<features { (target.data + r * size).update(from: wide.data + r * width + k * size, count: size) }
        return target
    }

    /// All micro-batches side by side: the matrix given, or the parts copied into `scratch`
    /// (features x M m).
    public func allMicrobatches(scratch: () -> Matrix) -> Matrix {
        if let wide = sideBySide { return wide }
        if microbatches == 1 { return parts[0] }
        let target = scratch(), size = microbatchSize, width = size * microbatches
        for (k, part) in parts.enumerated() {
            for r in 0..<features { (target.data + r * width + k * size).update(from: part.data + r * size, count: size) }
        }
        return target
    }
}
