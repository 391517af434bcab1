import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity
import SprigModels

/// Inference throughput of one process: the forward pass alone in evaluation mode (batch
/// norm on its running statistics, no dropout), on synthetic inputs, for a batch of 1 (the
/// latency of one request) and larger batches. Several configurations run in turn, a
/// round each, so that their ratios hold on a shared machine.
public enum InferenceThroughput {
    public struct Configuration {
        public var model: ModelArchitecture
        public var sparsity: Double
        public var distribution: SparsityDistribution
        public var batch: Int

        public init(model: ModelArchitecture, sparsity: Double, distribution: SparsityDistribution, batch: Int) {
            self.model = model
            self.sparsity = sparsity
            self.distribution = distribution
            self.batch = batch
        }
    }

    /// Samples per second of each configuration, each timed for at least `seconds`.
    public static func interleaved(_ configurations: [Configuration], seconds: Double) -> [Double] {
        let runs = configurations.map { c -> (Sequential, Matrix) in
            let sparsities = c.distribution.sparsities(of: c.model.weightShapes, sparsity: c.sparsity)
            let net = c.model.makeModel(sparsities: c.sparsity > 0 ? sparsities : nil, seed: 1)
            net.initialize(.heNormal, seed: 1)
            net.setTraining(false)
            var random = StatelessRandom(seed: 4, purpose: .shuffle)
            let x = Matrix(rows: c.model.inputFeatures, cols: c.batch)
            for i in 0..<x.count { x.data[i] = random.nextNormal() }
            _ = net.forward(x) // warm-up
            return (net, x)
        }
        var elapsed = [Double](repeating: 0, count: runs.count), passes = [Int](repeating: 0, count: runs.count)
        repeat {
            for (i, (net, x)) in runs.enumerated() {
                // A round of about 50 ms (at least one pass).
                let start = monotonicSeconds()
                repeat {
                    _ = net.forward(x)
                    passes[i] += 1
                } while monotonicSeconds() - start < 0.05
                elapsed[i] += monotonicSeconds() - start
            }
        } while elapsed.min()! < seconds
        return runs.indices.map { Double(passes[$0] * configurations[$0].batch) / elapsed[$0] }
    }
}
