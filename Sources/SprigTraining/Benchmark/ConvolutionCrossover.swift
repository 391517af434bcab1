import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity

/// Where a masked convolution should leave the sparse kernels for the dense product on
/// patch panels: one layer's training pass (forward, weight gradient, input gradient) timed
/// both ways at several densities, in turn, on one micro-batch. The crossover is the first
/// density at which the dense product is the faster (`conv_dense_math_density` in the config).
public enum ConvolutionCrossover {
    public struct Row {
        public var density: Double
        /// Seconds per pass on the sparse kernels and on the masked dense product.
        public var sparseSeconds: Double
        public var denseSeconds: Double
    }

    public static func measure(geometry g: ConvolutionGeometry, outputChannels: Int, densities: [Double], batch: Int,
                               seconds: Double = 0.2) -> [Row] {
        let k = g.channels * g.kernel * g.kernel
        var random = StatelessRandom(seed: 9, purpose: .maskInit)
        let x = Matrix(rows: g.channels * g.height * g.width, cols: batch)
        for i in 0..<x.count { x.data[i] = random.nextNormal() }
        return densities.map { density in
            let active = max(1, Int((density * Double(outputChannels * k)).rounded()))
            let pattern = SparsePattern(rows: outputChannels, cols: k,
                                        activeIndices: RandomMask.indices(count: active, of: outputChannels * k, random: &random))
            // A ReLU before the convolution, so that its input gradient is taken.
            func layer(denseMath: Double) -> (Sequential, [Float], Matrix) {
                let conv = Conv2D(inputChannels: g.channels, inputHeight: g.height, inputWidth: g.width, outputChannels: outputChannels,
                                  kernel: g.kernel, stride: g.stride, padding: g.padding, bias: false, pattern: pattern,
                                  denseMathDensity: denseMath)
                let m = Sequential(layers: [ReLU(features: x.rows), conv])
                m.initialize(.heNormal, seed: 1)
                let dy = Matrix(rows: conv.outputFeatures, cols: batch)
                for i in 0..<dy.count { dy.data[i] = random.nextNormal() }
                return (m, [Float](repeating: 0, count: m.store.count), dy)
            }
            let runs = [layer(denseMath: 1), layer(denseMath: 0)]
            var elapsed = [0.0, 0.0], passes = [0, 0]
            repeat {
                for (i, (m, buffer, dy)) in runs.enumerated() {
                    var gradients = buffer
                    let start = monotonicSeconds()
                    _ = m.forward(x)
                    gradients.withUnsafeMutableBufferPointer { m.backward(dy, into: GradientBuffers(gradients: $0.baseAddress!)) }
                    elapsed[i] += monotonicSeconds() - start
                    passes[i] += 1
                }
            } while elapsed.min()! < seconds || passes.min()! < 3
            return Row(density: density, sparseSeconds: elapsed[0] / Double(passes[0]), denseSeconds: elapsed[1] / Double(passes[1]))
        }
    }
}
