/// Training-FLOPs accounting of the RigL paper (appendix H): a backward pass costs twice
/// the forward pass, so a step costs `3 f_S` per example with the sparse forward cost
/// `f_S`, and `2 f_S + f_D` when it also computes dense gradients (RigL's update steps,
/// every SNFS step, SNIP's one shot); a dense model costs `3 f_D`. Forward costs count 2
/// FLOPs per active weight (a multiply and an add) per example, and the dense layers beside
/// the weights alike in the sparse and the dense cost: batch norm 2 per value (the
/// normalisation and the affine map), global average pooling 1 per input value, a residual
/// addition 1 per value (`Layer.forwardFLOPsPerExample`).
public struct TrainingFLOPs {
    /// Dense forward FLOPs per example.
    public let denseForward: Double
    /// FLOPs so far, and those of a dense model over the same examples.
    public var total: Double = 0
    public var denseTotal: Double = 0

    public init(denseForward: Double) {
        self.denseForward = denseForward
    }

    /// Counts a step over `examples` examples with sparse forward cost `sparseForward`; the
    /// weight gradient costs `weightGradientForward` (a method whose backward set is larger
    /// than the forward set; the forward cost otherwise), so a step costs
    /// `2 f_S + f_W` per example.
    public mutating func addStep(examples: Int, sparseForward: Double, weightGradientForward: Double? = nil, denseGradient: Bool) {
        let perExample: Double
        if denseGradient {
            perExample = 2 * sparseForward + denseForward
        } else if let w = weightGradientForward, w != sparseForward {
            perExample = 2 * sparseForward + w
        } else {
            perExample = 3 * sparseForward
        }
        total += perExample * Double(examples)
        denseTotal += 3 * denseForward * Double(examples)
    }

    /// Training FLOPs relative to training the dense model.
    public var relativeToDense: Double { denseTotal > 0 ? total / denseTotal : 0 }
}
