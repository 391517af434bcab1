import SprigTensor
import SprigData
import SprigLayers
import SprigSparsity
import SprigDistributed

/// The `sparsity:` section of a config: which method, how sparse, and when masks change.
///
/// ```yaml
/// sparsity:
///   method: rigl                 # any name in SparseTrainingMethod.all
///   distribution: uniform        # uniform, er, erk
///   sparsity: 0.9                # global sparsity of the sparse layers
///   layers: {fc3: 0}             # per-layer overrides (0 keeps a layer dense)
///   delta_t: 100                 # steps between mask updates
///   drop_fraction: 0.3           # alpha
///   drop_schedule: cosine        # constant, cosine, exponential
///   begin_step: 0
///   end_fraction: 0.75           # or end_step: N; updates stop there
///   snfs_momentum: 0.9           # a method's own keys (here SNFS's), see its file
///   dense_math_density: 0.3      # layers denser than this multiply an expanded copy on the dense kernels
///   dense_gradient_reduction: auto     # factors, reduce or allreduce: how update steps
///                                      # bring RigL its dense gradients (see below)
///   tile_budget_mb: 64           # memory for RigL's dense-gradient tiles (factors path)
///   fan_in: sparse               # or dense: the fan-in that scales initial weights
/// ```
///
/// `dense_gradient_reduction`: `reduce` sums the dense gradients at rank 0 (the design
/// card's path), `allreduce` on every rank, `factors` gathers each layer's `X` and `dY`
/// on every rank, which computes its share of the dense gradient tile by tile and sends
/// its best candidates to rank 0 (RigL on fully connected layers). `auto` takes `factors`
/// for RigL when every sparse layer is fully connected and the factors are fewer bytes
/// than the dense gradients (`sum (in + out) B < sum in out`), `reduce` otherwise. SNFS
/// keeps a dense moving average by definition and always reduces dense gradients.
public struct SparsitySettings: Equatable {
    /// Setting it resets `options` to the new method's defaults.
    public var method: SparseTrainingMethod = .dense {
        didSet { if method != oldValue { options = method.defaultOptions } }
    }
    public var distribution: SparsityDistribution = .uniform
    public var sparsity: Double = 0
    public var overrides: [String: Double] = [:]
    public var deltaT: Int = 100
    public var dropFraction: Double = 0.3
    public var dropSchedule: DropFractionSchedule.Shape = .cosine
    public var beginStep: Int = 0
    public var endStep: Int?
    public var endFraction: Double = 0.75
    /// The method's own keys (`MethodDefinition.options`), defaults filled in.
    public var options = SparseTrainingMethod.dense.defaultOptions
    public var denseMathDensity: Double = 0.3
    /// The same switch for convolutions. Measured (`sprig bench --conv-crossover`, one
    /// micro-batch of 32 on this machine), the masked dense product on patch panels overtakes
    /// the sparse kernels between densities 0.3 and 0.5 on ResNet-20's convolutions, at 0.5 on
    /// the Caffe LeNet-5's conv2 and past 0.7 on the LeNets' first convolutions (few output
    /// channels and short patches): 0.5 loses little on either side.
    public var convDenseMathDensity: Double = 0.5
    /// nil: `auto`, resolved by `resolvedReduction`.
    public var denseGradientReduction: DenseGradientReduction?
    public var tileBudgetMB: Int = 64
    public var fanIn: SparseFanIn = .sparse

    public init() {}

    /// Reads the section.
    public static func parse(_ r: ConfigReader) throws -> SparsitySettings {
        var s = SparsitySettings()
        if let m = try r.string("method") {
            guard let method = SparseTrainingMethod(name: m) else {
                throw r.error("method", "unknown method '\(m)' (known: \(SparseTrainingMethod.all.map(\.name).joined(separator: ", ")))")
            }
            s.method = method
        }
        s.options = try readOptions(r, method: s.method)
        if let d = try r.string("distribution") {
            guard let distribution = SparsityDistribution(rawValue: d) else {
                throw r.error("distribution", "unknown distribution '\(d)' (known: uniform, er, erk)")
            }
            s.distribution = distribution
        }
        s.sparsity = try r.double("sparsity") ?? s.sparsity
        guard s.sparsity >= 0 && s.sparsity < 1 else { throw r.error("sparsity", "must be in [0, 1), got \(s.sparsity)") }
        s.overrides = try r.doubleMap("layers") ?? [:]
        for (name, value) in s.overrides where !(value >= 0 && value < 1) {
            throw r.error("layers", "\(name): sparsity must be in [0, 1), got \(value)")
        }
        s.deltaT = try r.int("delta_t") ?? s.deltaT
        guard s.deltaT >= 1 else { throw r.error("delta_t", "must be at least 1, got \(s.deltaT)") }
        s.dropFraction = try r.double("drop_fraction") ?? s.dropFraction
        guard s.dropFraction >= 0 && s.dropFraction <= 1 else { throw r.error("drop_fraction", "must be in [0, 1], got \(s.dropFraction)") }
        if let shape = try r.string("drop_schedule") {
            guard let v = DropFractionSchedule.Shape(rawValue: shape) else {
                throw r.error("drop_schedule", "unknown schedule '\(shape)' (known: constant, cosine, exponential)")
            }
            s.dropSchedule = v
        }
        s.beginStep = try r.int("begin_step") ?? s.beginStep
        guard s.beginStep >= 0 else { throw r.error("begin_step", "must be non-negative, got \(s.beginStep)") }
        s.endStep = try r.int("end_step")
        if let end = s.endStep, end < s.beginStep { throw r.error("end_step", "must not be before begin_step") }
        s.endFraction = try r.double("end_fraction") ?? s.endFraction
        guard s.endFraction > 0 && s.endFraction <= 1 else { throw r.error("end_fraction", "must be in (0, 1], got \(s.endFraction)") }
        s.denseMathDensity = try r.double("dense_math_density") ?? s.denseMathDensity
        guard s.denseMathDensity >= 0 && s.denseMathDensity <= 1 else { throw r.error("dense_math_density", "must be in [0, 1]") }
        s.convDenseMathDensity = try r.double("conv_dense_math_density") ?? s.convDenseMathDensity
        guard s.convDenseMathDensity >= 0 && s.convDenseMathDensity <= 1 else {
            throw r.error("conv_dense_math_density", "must be in [0, 1]")
        }
        if let v = try r.string("dense_gradient_reduction"), v != "auto" {
            guard let reduction = DenseGradientReduction(rawValue: v) else {
                throw r.error("dense_gradient_reduction", "must be auto, factors, reduce or allreduce, got '\(v)'")
            }
            s.denseGradientReduction = reduction
        }
        s.tileBudgetMB = try r.int("tile_budget_mb") ?? s.tileBudgetMB
        guard s.tileBudgetMB >= 1 else { throw r.error("tile_budget_mb", "must be at least 1, got \(s.tileBudgetMB)") }
        if let v = try r.string("fan_in") {
            guard let fan = SparseFanIn(rawValue: v) else { throw r.error("fan_in", "must be sparse or dense, got '\(v)'") }
            s.fanIn = fan
        }
        try r.rejectUnknownKeys()
        return s
    }

    /// The method's own keys: each given value checked, defaults for the others. A key of
    /// another method is an error, unless it holds that key's default: builds before the
    /// methods described themselves wrote `snfs_momentum: 0.9` for every method, and their
    /// checkpoints still resume.
    static func readOptions(_ r: ConfigReader, method: SparseTrainingMethod) throws -> MethodOptions {
        var options = method.defaultOptions
        for option in method.options {
            let value: Double?
            if option.isFlag { value = try r.bool(option.key).map { $0 ? 1 : 0 } } else { value = try r.double(option.key) }
            guard let value else { continue }
            if let problem = option.check(value) { throw r.error(option.key, problem) }
            options.values[option.key] = value
        }
        for other in SparseTrainingMethod.all where other != method {
            for option in other.options where r.has(option.key) && !method.options.contains(where: { $0.key == option.key }) {
                let value = option.isFlag ? try r.bool(option.key).map { $0 ? 1.0 : 0.0 } : try r.double(option.key)
                guard value == option.defaultValue else {
                    throw r.error(option.key, "is an option of method \(other.name), not \(method.name)")
                }
            }
        }
        return options
    }

    /// The method's properties under this run's options.
    public var traits: MethodTraits { method.traits(options) }

    /// Per-layer sparsities for layers of these shapes (all 0 for the dense method).
    public func layerSparsities(_ layers: [SparsityDistribution.LayerShape]) -> [Double] {
        guard traits.sparsifiesLayers else { return layers.map { _ in 0 } }
        return distribution.sparsities(of: layers, sparsity: sparsity, overrides: overrides)
    }

    /// The drop schedule of a run of `totalSteps` steps.
    public func schedule(totalSteps: Int) -> DropFractionSchedule {
        DropFractionSchedule(shape: dropSchedule, alpha: dropFraction, deltaT: deltaT, begin: beginStep,
                             end: endStep ?? Int(Double(totalSteps) * endFraction))
    }
}

extension SparsitySettings {
    /// The mask policy of this method (`MethodDefinition.makePolicy`): nil for dense, and for
    /// NNrelief, whose rounds `sprig prune` runs between trainings. `budgets` are the sparse
    /// layers' active counts (SNIP keeps them), `prunedSparsities` the final sparsities of
    /// the layers that start dense and shrink, in sparse-layer order; `sparsities` gives
    /// theirs at another global sparsity.
    public func maskPolicy(schedule: DropFractionSchedule, seed: UInt64, budgets: [Int], prunedSparsities: [Double],
                           sparsities: @escaping (Double) -> [Double] = { _ in [] }) -> MaskPolicy? {
        method.definition.makePolicy(MethodInputs(schedule: schedule, seed: seed, budgets: budgets,
                                                  prunedSparsities: prunedSparsities, options: options, sparsities: sparsities))
    }
}
