import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity

/// Useful GFLOP/s of the three sparse kernels (`SparseKernels`) on one layer shape,
/// counting 2 FLOPs per active weight per example, the figure to read beside sgemm's.
public enum KernelThroughput {
    public struct Result {
        public var forward: Double
        public var inputGradient: Double
        public var weightGradient: Double
    }

    public static func measure(rows: Int, cols: Int, sparsity: Double, batch: Int, seconds: Double = 0.3) -> Result {
        var random = StatelessRandom(seed: 5, purpose: .maskInit)
        let total = rows * cols
        let active = SparsityDistribution.activeCount(count: total, sparsity: sparsity)
        let pattern = SparsePattern(rows: rows, cols: cols, activeIndices: RandomMask.indices(count: active, of: total, random: &random))
        let values = (0..<active).map { _ in random.nextUniform(-1, 1) }
        let bias = [Float](repeating: 0.1, count: rows)
        let x = Matrix(rows: cols, cols: batch), y = Matrix(rows: rows, cols: batch)
        let dx = Matrix(rows: cols, cols: batch)
        for i in 0..<x.count { x.data[i] = random.nextNormal() }
        for i in 0..<y.count { y.data[i] = random.nextNormal() }
        var grad = [Float](repeating: 0, count: active)
        let flops = 2 * Double(active) * Double(batch)
        func rate(_ body: () -> Void) -> Double { flops / secondsPerPass(atLeast: seconds, body) / 1e9 }
        return values.withUnsafeBufferPointer { v in
            bias.withUnsafeBufferPointer { b in
                Result(
                    forward: rate { SparseKernels.forward(pattern, values: v.baseAddress!, bias: b.baseAddress!, x: x, y: y) },
                    inputGradient: rate { SparseKernels.inputGradient(pattern, values: v.baseAddress!, dy: y, dx: dx) },
                    weightGradient: rate { grad.withUnsafeMutableBufferPointer { SparseKernels.weightGradient(pattern, dy: y, x: x, grad: $0.baseAddress!) } })
            }
        }
    }
}
