/// A sparse training method, as a config names it (`sparsity.method`).
///
/// A method describes itself in its own file: a type conforming to `MethodDefinition`.
/// That type gives the method's name, its properties (`MethodTraits`), its own config keys
/// with their checks and defaults (`MethodOption`), and how its mask policy is built. It is
/// listed once in `SparseTrainingMethod.all`. Nothing else in Sprig tests a method by name:
/// the training loop, the config checks, the memory estimate and the report read the traits.
public struct SparseTrainingMethod: Hashable, Sendable, CustomStringConvertible {
    public let definition: any MethodDefinition.Type

    public init(_ definition: any MethodDefinition.Type) {
        self.definition = definition
    }

    /// The method a config names, or nil when no method has that name.
    public init?(name: String) {
        guard let found = Self.all.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    /// The name in configs and reports.
    public var name: String { definition.name }
    public var description: String { name }

    /// The method's properties under these options (its own keys, defaults filled in).
    public func traits(_ options: MethodOptions) -> MethodTraits { definition.traits(options) }
    /// The method's config keys.
    public var options: [MethodOption] { definition.options }

    /// The method's keys with their defaults.
    public var defaultOptions: MethodOptions {
        MethodOptions(Dictionary(uniqueKeysWithValues: options.map { ($0.key, $0.defaultValue) }))
    }

    /// The method of a dense run: no sparse layers, no masks.
    public static var dense: SparseTrainingMethod { all[0] }

    public static func == (a: SparseTrainingMethod, b: SparseTrainingMethod) -> Bool { a.name == b.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

/// What a method is, in one file: its name, its properties, its config keys and its policy.
public protocol MethodDefinition {
    /// The name in configs (`sparsity.method: NAME`).
    static var name: String { get }
    /// One line for `--help` and the guide.
    static var summary: String { get }
    /// The method's own keys of the `sparsity:` section.
    static var options: [MethodOption] { get }
    /// The method's properties under these options.
    static func traits(_ options: MethodOptions) -> MethodTraits
    /// The mask policy of a run (nil: masks never change and nothing is decided, as for a
    /// dense run or NNrelief, whose rounds `sprig prune` runs between trainings).
    static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy?
}

extension MethodDefinition {
    public static var options: [MethodOption] { [] }
}

/// What the rest of Sprig knows of a method.
public struct MethodTraits: Sendable, Equatable {
    /// When a step's backward pass must also produce the dense gradients of the sparse layers.
    public enum DenseGradients: Sendable, Equatable {
        case never
        /// On mask-update steps (RigL).
        case onUpdateSteps
        /// On every step (SNFS's moving average).
        case everyStep
    }

    /// False for the methods whose layers are not sparsified by the distribution: a dense
    /// run, and NNrelief, which trains dense and prunes between rounds.
    public var sparsifiesLayers = true
    /// True for the methods whose pruned layers start dense and shrink during training.
    public var startsDense = false
    /// True when every layer is pruned, whatever its sparsity in the distribution (NNrelief).
    public var prunesEveryLayer = false
    /// True when masks change during training.
    public var changesMasks = false
    public var denseGradients = DenseGradients.never
    /// True when the dense gradients of an update step may come as factors, examined tile by
    /// tile on every rank (`dense_gradient_reduction: factors`, `TiledDenseGradient`), with
    /// the tile budget counted in the memory estimate: grow scores that are `|dL/dW|`.
    public var growsFromFactors = false
    /// True when every layer keeps its number of active weights through a mask update.
    public var keepsCountPerLayer = true
    /// True when the method's memory follows the active weights (false: SNFS's dense moving
    /// averages).
    public var memoryFollowsActiveWeights = true

    public init() {}

    /// True when the method makes a layer of this distribution sparsity a sparse layer:
    /// every layer the distribution sparsifies, and every layer of a method that prunes
    /// them all.
    public func hasSparseLayer(atSparsity sparsity: Double) -> Bool { sparsity > 0 || prunesEveryLayer }
}

/// A method's config key: a number (or a flag, 0 or 1) with its default and its check.
public struct MethodOption: Sendable {
    public let key: String
    public let defaultValue: Double
    public let isFlag: Bool
    /// What the key means, for the guide.
    public let summary: String
    /// nil when a value is allowed, else why not ("must be in [0, 1)").
    public let check: @Sendable (Double) -> String?

    public init(_ key: String, default value: Double, isFlag: Bool = false, summary: String,
                check: @escaping @Sendable (Double) -> String? = { _ in nil }) {
        self.key = key
        self.defaultValue = value
        self.isFlag = isFlag
        self.summary = summary
        self.check = check
    }

    /// A check that the value lies in `range`, with `open` ends excluded.
    public static func within(_ low: Double, _ high: Double, lowOpen: Bool = false, highOpen: Bool = false) -> @Sendable (Double) -> String? {
        { v in
            let ok = (lowOpen ? v > low : v >= low) && (highOpen ? v < high : v <= high)
            return ok ? nil : "must be in \(lowOpen ? "(" : "[")\(low), \(high)\(highOpen ? ")" : "]"), got \(v)"
        }
    }
}

/// The values of a method's own keys, defaults filled in.
public struct MethodOptions: Equatable, Sendable {
    public var values: [String: Double]

    public init(_ values: [String: Double] = [:]) {
        self.values = values
    }

    public subscript(_ key: String) -> Double {
        guard let v = values[key] else { preconditionFailure("no method option \(key)") }
        return v
    }

    public func flag(_ key: String) -> Bool { self[key] != 0 }
}

/// What a method's policy is built from.
public struct MethodInputs {
    /// When masks change (`delta_t`, `drop_fraction`, `drop_schedule`, begin and end).
    public var schedule: DropFractionSchedule
    public var seed: UInt64
    /// Each sparse layer's active count at initialisation (what a one-shot method keeps).
    public var budgets: [Int]
    /// The final sparsities of the layers that start dense and shrink, in sparse-layer order.
    public var prunedSparsities: [Double]
    /// The method's own keys.
    public var options: MethodOptions
    /// The sparsities the distribution gives those layers for another global sparsity
    /// (a method's initial one).
    public var sparsities: (Double) -> [Double]

    public init(schedule: DropFractionSchedule, seed: UInt64, budgets: [Int] = [], prunedSparsities: [Double] = [],
                options: MethodOptions = MethodOptions(), sparsities: @escaping (Double) -> [Double] = { _ in [] }) {
        self.schedule = schedule
        self.seed = seed
        self.budgets = budgets
        self.prunedSparsities = prunedSparsities
        self.options = options
        self.sparsities = sparsities
    }
}
