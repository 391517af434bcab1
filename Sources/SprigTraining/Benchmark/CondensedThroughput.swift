import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity

/// The forward pass of one constant fan-in layer (SRigL's mask: k random inputs per
/// neuron, `k = floor(B / rows)`) on the CSR kernel (`SparseKernels.forward`) and on the
/// condensed layout (`CondensedLinear`), timed in turn, in useful GFLOP/s (2 per active
/// weight per example).
public enum CondensedThroughput {
    public struct Result {
        public var fanIn: Int
        public var csr: Double
        public var condensed: Double
        /// True when both gave the same outputs, bitwise.
        public var sameBits: Bool
    }

    public static func measure(rows: Int, cols: Int, sparsity: Double, batch: Int, seconds: Double = 0.3) -> Result {
        let budget = SparsityDistribution.activeCount(count: rows * cols, sparsity: sparsity)
        let k = max(1, min(budget / rows, cols))
        let pattern = SparsePattern(rows: rows, cols: cols,
                                    activeIndices: RandomMask.constantFanIn(rows: rows, cols: cols, fanIn: k, seed: 5, layer: 0))
        var random = StatelessRandom(seed: 6, purpose: .maskInit)
        let values = (0..<pattern.activeCount).map { _ in random.nextUniform(-1, 1) }
        let bias = (0..<rows).map { _ in random.nextUniform(-0.1, 0.1) }
        let x = Matrix(rows: cols, cols: batch), y = Matrix(rows: rows, cols: batch), y2 = Matrix(rows: rows, cols: batch)
        for i in 0..<x.count { x.data[i] = random.nextNormal() }
        let flops = 2 * Double(pattern.activeCount) * Double(batch)
        return values.withUnsafeBufferPointer { v in
            bias.withUnsafeBufferPointer { b in
                let condensed = CondensedLinear(pattern, values: v.baseAddress!, bias: b.baseAddress!)
                // Rounds of about 50 ms each, in turn, so that the ratio holds on a shared machine.
                var csrTime = 0.0, condensedTime = 0.0, rounds = 0
                repeat {
                    csrTime += secondsPerPass(atLeast: 0.05) { SparseKernels.forward(pattern, values: v.baseAddress!, bias: b.baseAddress!, x: x, y: y) }
                    condensedTime += secondsPerPass(atLeast: 0.05) { condensed.forward(x: x, y: y2) }
                    rounds += 1
                } while Double(rounds) * 0.1 < seconds
                let same = (0..<y.count).allSatisfy { y.data[$0].bitPattern == y2.data[$0].bitPattern }
                return Result(fanIn: k, csr: flops * Double(rounds) / csrTime / 1e9,
                              condensed: flops * Double(rounds) / condensedTime / 1e9, sameBits: same)
            }
        }
    }
}
