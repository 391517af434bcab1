import Foundation
import SprigTensor
import SprigSparsity
import SprigModels

/// What a run will hold in memory, estimated from the config before anything is
/// allocated, so that a model that cannot fit is refused with the figure instead of
/// failing hours later (or being killed by the kernel).
///
/// Per weight layer of N positions with n active: values, the column index and
/// `gradients + states` buffers of the store, `4 n (2 + buffers)` bytes (the whole `4 N`
/// per buffer for dense layers and for sparse layers on the dense-math path, which also
/// hold two dense scratch matrices); the mask built at start, about 40 bytes per active
/// weight for a moment; activations, four matrices of `width x micro-batch` floats per layer
/// (of `width x local batch` when every layer is fully connected on dense math, whose
/// micro-batches run side by side: `TrainingStep.runsSideBySide(atStep:)`).
///
/// The method's traits (`MethodTraits`) add what it holds beyond its active weights:
/// - a method that starts dense holds every position of its pruned layers at first
///   (`startsDense`);
/// - a method whose memory does not follow the active weights holds one dense buffer of
///   `4 N` bytes per sparse layer (`memoryFollowsActiveWeights`: a moving average of the
///   dense gradients, or a dense copy of the weights);
/// - a method that needs dense gradients holds, on the steps that take them, the tree's
///   `levels + 1` dense buffers per sparse layer (`denseGradients`), or the tile budget
///   when they may come as factors (`growsFromFactors`).
public struct MemoryEstimate {
    public var bytes: Int

    public init(config: TrainingConfig, sparsities: [Double]) {
        let s = config.sparsity
        // the gradient tree's pool: levels + 1 buffers (one process: every micro-batch local)
        let treeBuffers = TiledDenseGradient.poolTiles(config.microbatches)
        let states = config.adam == nil ? 1 : 2
        var total = 0
        var widest = config.model.inputFeatures
        var sideBySide = config.microbatches > 1
        let traits = s.traits
        // Positions of the sparse layers: what the method's dense buffers cover.
        var sparsePositions = 0
        for (shape, sparsity) in zip(config.model.weightShapes, sparsities) {
            let positions = shape.count
            let pruned = traits.hasSparseLayer(atSparsity: sparsity)
            let active = pruned && !traits.startsDense
                ? SparsityDistribution.activeCount(count: positions, sparsity: sparsity) : positions
            let threshold = shape.shape.count == 4 ? s.convDenseMathDensity : s.denseMathDensity
            let denseMath = !pruned || Double(active) / Double(positions) > threshold
            total += 4 * active * (2 + treeBuffers + states) + (denseMath ? 8 * positions : 40 * active)
            sideBySide = sideBySide && denseMath && shape.shape.count == 2
            widest = max(widest, shape.shape[0])
            if pruned { sparsePositions += positions }
        }
        let layers = config.model.weightShapes.count
        total += 4 * 4 * layers * widest * (sideBySide ? config.batchSize : config.batchSize / config.microbatches)
        if !traits.memoryFollowsActiveWeights { total += 4 * sparsePositions }
        if traits.growsFromFactors {
            total += s.tileBudgetMB << 20
        } else if traits.denseGradients != .never {
            total += 4 * sparsePositions * treeBuffers
        }
        bytes = total
    }

    /// Memory the system can give now (MemAvailable of /proc/meminfo), or nil when unknown.
    public static var available: Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }
}
