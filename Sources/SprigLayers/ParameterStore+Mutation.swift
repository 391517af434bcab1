/// A moment of the store: every parameter value and every optimizer state buffer.
public struct ParameterSnapshot: Equatable {
    public var values: [Float]
    public var states: [[Float]]

    public init(values: [Float], states: [[Float]]) {
        self.values = values
        self.states = states
    }
}

/// The one documented path by which model state changes. As mlx-swift's `Module` states its
/// rule, every mutation of parameters goes through a documented call: the store's pointers
/// are internal to SprigLayers, and outside it parameters change only through these calls,
/// patterns only through `SparseLinear.setPattern` (the mask diffs' `SparseLinear.apply`,
/// checkpoint restore and weight loading) and the values of a sparse layer's active weights
/// through `SparseLinear.updateActiveWeights` (a policy's `settle`), batch-norm statistics
/// through the training step's `applyStatistics` and `BatchNorm.setRunningStatistics`.
///
/// - `optimizerStep`: the optimizer's update, each step;
/// - `restore`: a checkpoint restored, or a retraining round's best epoch put back;
/// - `setValues(_:of:)`: weights loaded from a file;
/// - `resetOptimizerState`: a new optimizer's state (NNrelief's retraining rounds);
/// - `perturb`: a fault a test injects (`inject_divergence_at`).
extension ParameterStore {
    /// Runs the optimizer's update on the values and the state buffers (each laid out like the
    /// values, `count` long).
    public func optimizerStep(_ body: (_ values: UnsafeMutablePointer<Float>, _ states: [UnsafeMutablePointer<Float>]) -> Void) {
        body(values, states)
    }

    /// Every value and state buffer, copied.
    public func snapshot() -> ParameterSnapshot {
        ParameterSnapshot(values: Array(UnsafeBufferPointer(start: values, count: count)),
                          states: states.map { Array(UnsafeBufferPointer(start: $0, count: count)) })
    }

    /// Puts a snapshot back: its values, and its state buffers when it has them (a snapshot of
    /// values alone leaves the optimizer state). The layout must be the snapshot's.
    public func restore(_ snapshot: ParameterSnapshot) {
        precondition(snapshot.values.count == count, "the store's layout differs from the snapshot's")
        precondition(snapshot.states.isEmpty || snapshot.states.count == states.count, "another optimizer's state")
        values.update(from: snapshot.values, count: count)
        for (state, saved) in zip(states, snapshot.states) {
            precondition(saved.count == count, "the store's layout differs from the snapshot's")
            state.update(from: saved, count: count)
        }
    }

    /// Tensor `index` takes `newValues` (its active values, in storage order).
    public func setValues(_ newValues: [Float], of index: Int) {
        precondition(newValues.count == specs[index].count, "tensor \(specs[index].name) holds \(specs[index].count) values")
        (values + offsets[index]).update(from: newValues, count: newValues.count)
    }

    /// Zeroes every optimizer state buffer, as a new optimizer has them.
    public func resetOptimizerState() {
        for state in states { state.update(repeating: 0, count: count) }
    }

    /// Adds `delta` to value `i` (a test's injected fault).
    public func perturb(_ i: Int, by delta: Float) {
        values[i] += delta
    }

    /// Optimizer state buffer `i`, copied.
    public func stateArray(_ i: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: states[i], count: count))
    }

    /// The number of optimizer state buffers.
    public var stateCount: Int { states.count }

    /// Calls `body` with the values, read-only (`count` long).
    public func withValues<R>(_ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        body(UnsafeBufferPointer(start: values, count: count))
    }
}
