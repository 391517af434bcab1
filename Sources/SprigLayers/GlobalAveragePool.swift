import SprigTensor

/// Global average pooling (Lin et al., ICLR 2014; the head of He et al.'s CIFAR ResNets):
/// each of `channels` channels' `positions` values averaged, `y[c] = (1/P) sum_p x[c, p]`,
/// on feature-major activations; backward `dx[c, p] = dy[c] / P`.
public final class GlobalAveragePool: Layer {
    public let channels: Int
    public let positions: Int
    private var output: Matrix?
    private var inputGradient: Matrix?

    public init(channels: Int, positions: Int) {
        precondition(channels > 0 && positions > 0, "GlobalAveragePool needs positive sizes")
        self.channels = channels
        self.positions = positions
    }

    public var inputFeatures: Int { channels * positions }
    public var outputFeatures: Int { channels }
    public var forwardFLOPsPerExample: Int { channels * positions }

    /// Column by column, in a fixed order: any columns side by side give the same bits.
    public func batchesMicrobatches(ofSize size: Int) -> Bool { true }

    public func forward(_ x: Matrix) -> Matrix {
        let started = StepProfile.start()
        defer { StepProfile.stop(.elementwise, since: started) }
        precondition(x.rows == inputFeatures, "GlobalAveragePool expects \(inputFeatures) input features, got \(x.rows)")
        let b = x.cols
        let y = Matrix.reuse(output, rows: channels, cols: b)
        output = y
        let scale = 1 / Float(positions)
        for c in 0..<channels {
            let out = y.data + c * b
            out.update(from: x.data + c * positions * b, count: b)
            for p in 1..<max(positions, 1) {
                let row = x.data + (c * positions + p) * b
                for n in 0..<b { out[n] += row[n] }
            }
            for n in 0..<b { out[n] *= scale }
        }
        return y
    }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        let started = StepProfile.start()
        defer { StepProfile.stop(.elementwise, since: started) }
        guard needInputGradient else { return nil }
        let b = dy.cols
        let dx = Matrix.reuse(inputGradient, rows: inputFeatures, cols: b)
        inputGradient = dx
        let scale = 1 / Float(positions)
        for c in 0..<channels {
            let g = dy.data + c * b
            for p in 0..<positions {
                let row = dx.data + (c * positions + p) * b
                for n in 0..<b { row[n] = g[n] * scale }
            }
        }
        return dx
    }
}
