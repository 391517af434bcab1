import MPI
import SprigLayers
import SprigSparsity

/// Checks that every rank holds the same model: a checksum per tensor (FNV-1a over the
/// bit patterns of its values and, for a sparse tensor, its active indices; then one per
/// batch norm over its running statistics and `num_batches_tracked`) is gathered
/// from every rank and compared with rank 0's. Replicas that drifted apart (the RigL
/// paper's lesson on stateful randomness) end the run with the tensor and the step named.
public struct ReplicaCheck {
    let communicator: Communicator

    public init(replicas: Replicas) {
        self.communicator = replicas.communicator
    }

    /// The replicas disagree.
    public struct Divergence: Error, CustomStringConvertible {
        public let step: Int
        public let tensor: String
        public let rank: Int
        public var description: String {
            "replica check: ranks diverged at step \(step): \(tensor) on rank \(rank) differs from rank 0"
        }
    }

    /// Per-tensor checksums of `model`.
    public static func checksums(_ model: Sequential) -> [UInt64] {
        let patterns = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer.pattern) })
        return model.store.specs.indices.map { i in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            @inline(__always) func mix(_ v: UInt32) {
                h = (h ^ UInt64(v)) &* 0x0000_0100_0000_01B3
            }
            model.store.withValues { values in
                for k in 0..<model.store.specs[i].count { mix(values[model.store.offsets[i] + k].bitPattern) }
            }
            if let p = patterns[i] { for c in p.columns { mix(UInt32(bitPattern: c)) }; for r in p.rowStart { mix(UInt32(bitPattern: r)) } }
            return h
        } + model.batchNorms.map { bn in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for v in bn.runningMean + bn.runningVariance { h = (h ^ UInt64(v.bitPattern)) &* 0x0000_0100_0000_01B3 }
            return (h ^ UInt64(bn.batchesTracked)) &* 0x0000_0100_0000_01B3
        }
    }

    /// Compares every rank's checksums with rank 0's (one all-gather); throws the first
    /// divergence on every rank alike.
    public func verify(_ model: Sequential, step: Int) throws {
        let mine = ReplicaCheck.checksums(model)
        let all = communicator.allGather(mine, kind: .checks)
        let n = mine.count
        for rank in 1..<max(communicator.size, 1) {
            for t in 0..<n where all[rank * n + t] != all[t] {
                let names = model.store.specs.map(\.name) + model.batchNormNames.map { "\($0).running_mean/running_var" }
                throw Divergence(step: step, tensor: names[t], rank: rank)
            }
        }
    }
}
