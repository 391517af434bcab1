import SprigTensor

/// The factors of the dense gradients of sparse layers, recorded by a backward pass: for a
/// fully connected sparse layer, `dL/dW = sum_k dY_k X_k^T` over the micro-batches k, with
/// `X_k` (in x b) the layer's input and `dY_k` (out x b) its output gradient. Together they
/// hold `(in + out) b` floats per micro-batch, against `in * out` for the dense gradient:
/// far fewer for wide sparse layers, so ranks can exchange them instead of dense
/// gradients, and RigL's growth can compute `dY X^T` one tile of rows at a time.
///
/// Per weight tensor, the floats are one array: for each micro-batch in order, `X_k` then
/// `dY_k`, both row-major.
public final class GrowthFactors {
    /// Per weight tensor index: the recorded floats, and the shape of one micro-batch.
    public private(set) var floats: [Int: [Float]] = [:]
    public private(set) var shapes: [Int: (inputs: Int, outputs: Int, columns: Int)] = [:]

    public init() {}

    /// Appends one micro-batch's factors of weight tensor `weightIndex`.
    public func record(weightIndex: Int, x: Matrix, dy: Matrix) {
        precondition(x.cols == dy.cols, "factors of different batch sizes")
        let shape = (inputs: x.rows, outputs: dy.rows, columns: x.cols)
        if let known = shapes[weightIndex] {
            precondition(known == shape, "micro-batches of one step have one shape")
        } else {
            shapes[weightIndex] = shape
        }
        floats[weightIndex, default: []].append(contentsOf: UnsafeBufferPointer(start: x.data, count: x.count))
        floats[weightIndex, default: []].append(contentsOf: UnsafeBufferPointer(start: dy.data, count: dy.count))
    }

    /// Replaces tensor `weightIndex`'s floats (with every rank's, after a gather).
    public func replace(weightIndex: Int, with values: [Float]) {
        precondition(shapes[weightIndex] != nil, "no factors of tensor \(weightIndex)")
        floats[weightIndex] = values
    }

    /// Floats of one micro-batch of tensor `weightIndex`.
    public func microbatchLength(_ weightIndex: Int) -> Int {
        guard let s = shapes[weightIndex] else { return 0 }
        return (s.inputs + s.outputs) * s.columns
    }

    /// The number of micro-batches recorded for tensor `weightIndex`.
    public func microbatches(_ weightIndex: Int) -> Int {
        let n = microbatchLength(weightIndex)
        return n == 0 ? 0 : (floats[weightIndex]?.count ?? 0) / n
    }

    /// Bytes held.
    public var bytes: Int { floats.values.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.stride }
}
