import SprigTensor
import SprigData
import SprigExport
import SprigLayers
import SprigSparsity
import SprigModels
import Foundation

/// Everything a training run needs, read from a YAML file and overridden by flags.
///
/// ```yaml
/// model: lenet-300-100          # a zoo name, or {mlp: [784, 300, 100, 10]}
/// data: data/mnist              # a folder (its format recognised), or {path: DIR, format: cifar10, ...}
/// augment: {random_crop: {padding: 4}, horizontal_flip: true}   # training images only
/// normalize: true               # per-channel standardisation (false: pixels / 255 only)
/// epochs: 20
/// batch_size: 100               # the global batch, split evenly over the ranks
/// microbatches: 4               # the batch's micro-batches (see below)
/// eval_batch_size: 1000
/// seed: 1
/// init: glorot_uniform          # or he_normal
/// validation: 5000              # optional: hold out the training set's last N examples
/// max_steps: 500                # optional: a budget of steps; schedules fit into it
/// replica_check_every: 1000     # steps between checks that all ranks hold the same model
/// checkpoint_every: 1000        # steps between checkpoints (with --checkpoint PATH)
/// checkpoint_every_minutes: 30  # optional: minutes between checkpoints as well
/// checkpoint_keep: 2            # checkpoints kept: PATH, PATH.1, ... (CheckpointFiles)
/// optimizer: {name: sgd, lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.0001}
///            # or {name: adam, lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0005}
/// schedule: {name: cosine, min_lr: 0, warmup_epochs: 0}   # or step (milestones, gamma), constant
/// sparsity: {method: rigl, sparsity: 0.9, ...}             # see SparsitySettings
/// ```
///
/// `microbatches` fixes how the gradient of a global batch is summed (a pairwise tree over
/// micro-batches, `GradientTree`), so that any power-of-two number of ranks dividing it
/// gives bitwise the same run. It must divide `batch_size` and be a multiple of the
/// number of ranks; `1` is fastest for one process but then allows only one rank.
public struct TrainingConfig: Equatable {
    public var modelName: String = "lenet-300-100"
    public var model: ModelArchitecture = ModelArchitecture.zoo["lenet-300-100"]!
    /// Where the data is and how to read it (`DataSource`).
    public var data = DataSource(path: "data/mnist")
    /// Crops and flips of training images (`Augmentation`); none by default.
    public var augmentation = Augmentation()
    /// Inputs standardised per channel with the training set's statistics (`Normalization`);
    /// false: bytes scaled to [0, 1] only, as RigL's MNIST reference reads them.
    public var normalize = true
    public var epochs: Int = 20
    public var batchSize: Int = 100
    public var microbatches: Int = 4
    public var evalBatchSize: Int = 1000
    public var seed: UInt64 = 1
    public var initializer: WeightInitializer = .glorotUniform
    /// A budget of steps: the run ends after this many, and the learning-rate and mask
    /// schedules are laid out over them (to stop a longer run midway with its schedules,
    /// use `--stop-after`).
    public var maxSteps: Int?
    /// Training examples held out for validation: the training set's last `validation`
    /// examples, never trained on, evaluated after each epoch beside the test set (so that
    /// model selection need not look at the test set).
    public var validation: Int = 0
    /// Steps between replica checks (0: only the checks of debug builds after mask updates).
    public var replicaCheckEvery: Int = 1000
    /// Steps between checkpoints (when a checkpoint path is given); 0: only at the end.
    public var checkpointEvery: Int = 1000
    /// Minutes between checkpoints as well, by rank 0's clock (0: by steps only). When a
    /// checkpoint is written does not change the run, so the ranks need not agree on it.
    public var checkpointEveryMinutes: Double = 0
    /// Checkpoints kept on disk, the newest and those before it (`CheckpointFiles`).
    public var checkpointKeep: Int = 2
    /// Test hook: at this step the last rank perturbs one weight, so the replica check
    /// must catch it.
    public var injectDivergenceAt: Int?
    public var learningRate: Double = 0.1
    public var sgd = SGD.Settings(momentum: 0.9, nesterov: true, weightDecay: 1e-4)
    /// Set when the optimizer is Adam (`optimizer: {name: adam, ...}`); SGD otherwise.
    public var adam: Adam.Settings?
    public var schedule = LearningRateSchedule(shape: .cosine(minimum: 0))
    public var sparsity = SparsitySettings()
    /// NNrelief's rounds, for `sprig prune` (`NNreliefSettings`); nil: the command's defaults.
    public var nnrelief: NNreliefSettings?
    /// The file the config came from ("defaults" when none) and its text, kept with results.
    public var source: String = "defaults"
    public var text: String = ""
    /// Fields whose value came from a command-line flag, with the flag, for error messages.
    public var overriddenBy: [String: String] = [:]
    /// The top-level keys the config file sets (the others are defaults).
    public var keysInFile: Set<String> = []

    public init() {}

    /// Reads the config at `path`. Unknown keys and impossible values are errors naming
    /// the file and the field; with `validating: false` the values are checked by the
    /// caller's `validate()`, after its flags (`--sparsity` after `--set sparsity.method=rigl`).
    public static func load(path: String, overrides: [ConfigOverride] = [], validating: Bool = true) throws -> TrainingConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SprigError(path, FileManager.default.fileExists(atPath: path) ? "cannot read config file" : "no such config file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SprigError(path, "config file is not UTF-8 text")
        }
        return try parse(text: text, source: path, overrides: overrides, validating: validating)
    }

    /// Parses config `text`; `source` names it in errors.
    public static func parse(text: String, source: String) throws -> TrainingConfig {
        let c = try read(text: text, source: source)
        try c.validate()
        return c
    }

    /// Reads config `text` without `validate()` (which the caller runs).
    static func read(text: String, source: String) throws -> TrainingConfig {
        let r = try ConfigReader(text: text, source: source)
        var c = TrainingConfig()
        c.source = source
        c.text = text
        c.keysInFile = Set(r.keys)
        if r.isSection("model"), let m = try r.section("model"), m.has("layers") {
            let layers = try LayerListYAML.parse(m, key: "layers")
            let name = try m.string("name") ?? "custom"
            guard ModelArchitecture.zoo[name] == nil else { throw m.error("name", "'\(name)' is a zoo model's name; give yours another") }
            try m.rejectUnknownKeys()
            // The input shape comes from the data (`model(fitting:)`).
            c.model = .graph(input: [1, 28, 28], layers: layers)
            c.modelName = name
        } else if r.isSection("model") {
            let m = try r.section("model")!
            guard let sizes = try m.intList("mlp") else {
                throw r.error("model", "a model mapping needs the key 'mlp' (a list of layer widths) or 'layers' (a list of layers and blocks)")
            }
            try m.rejectUnknownKeys()
            guard sizes.count >= 2, sizes.allSatisfy({ $0 > 0 }) else {
                throw r.error("model.mlp", "needs at least two positive widths, got \(sizes)")
            }
            c.model = .mlp(sizes: sizes)
            c.modelName = "mlp-" + sizes.map(String.init).joined(separator: "-")
        } else if let name = try r.string("model") {
            guard let model = ModelArchitecture.zoo[name] else {
                throw r.error("model", "unknown model '\(name)' (known: \(ModelArchitecture.zoo.keys.sorted().joined(separator: ", ")))")
            }
            c.model = model
            c.modelName = name
        }
        c.data = try readDataSource(r) ?? c.data
        c.augmentation = try readAugmentation(r) ?? c.augmentation
        c.normalize = try r.bool("normalize") ?? c.normalize
        c.epochs = try r.int("epochs") ?? c.epochs
        c.batchSize = try r.int("batch_size") ?? c.batchSize
        c.microbatches = try r.int("microbatches") ?? c.microbatches
        c.evalBatchSize = try r.int("eval_batch_size") ?? c.evalBatchSize
        if let seed = try r.int("seed") {
            guard seed >= 0 else { throw r.error("seed", "must be non-negative, got \(seed)") }
            c.seed = UInt64(seed)
        }
        if let name = try r.string("init") {
            guard let i = WeightInitializer(rawValue: name) else {
                throw r.error("init", "unknown initializer '\(name)' (known: \(WeightInitializer.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            c.initializer = i
        }
        c.maxSteps = try r.int("max_steps")
        c.validation = try r.int("validation") ?? c.validation
        c.replicaCheckEvery = try r.int("replica_check_every") ?? c.replicaCheckEvery
        c.checkpointEvery = try r.int("checkpoint_every") ?? c.checkpointEvery
        c.checkpointEveryMinutes = try r.double("checkpoint_every_minutes") ?? c.checkpointEveryMinutes
        c.checkpointKeep = try r.int("checkpoint_keep") ?? c.checkpointKeep
        if let o = try r.section("optimizer") {
            let name = try o.string("name") ?? "sgd"
            c.learningRate = try o.double("lr") ?? c.learningRate
            switch name {
            case "sgd":
                c.sgd.momentum = try o.double("momentum") ?? c.sgd.momentum
                c.sgd.nesterov = try o.bool("nesterov") ?? c.sgd.nesterov
                c.sgd.weightDecay = try o.double("weight_decay") ?? c.sgd.weightDecay
                c.sgd.decayBiases = try o.bool("decay_biases") ?? c.sgd.decayBiases
            case "adam":
                var a = Adam.Settings()
                a.beta1 = try o.double("beta1") ?? a.beta1
                a.beta2 = try o.double("beta2") ?? a.beta2
                a.epsilon = try o.double("eps") ?? a.epsilon
                a.weightDecay = try o.double("weight_decay") ?? a.weightDecay
                a.decayBiases = try o.bool("decay_biases") ?? a.decayBiases
                guard a.beta1 >= 0 && a.beta1 < 1 else { throw o.error("beta1", "must be in [0, 1), got \(a.beta1)") }
                guard a.beta2 >= 0 && a.beta2 < 1 else { throw o.error("beta2", "must be in [0, 1), got \(a.beta2)") }
                guard a.epsilon > 0 else { throw o.error("eps", "must be positive, got \(a.epsilon)") }
                c.adam = a
            default:
                throw o.error("name", "unknown optimizer '\(name)' (known: sgd, adam)")
            }
            try o.rejectUnknownKeys()
        }
        if let s = try r.section("schedule") { c.schedule = try LearningRateSchedule.parse(s) }
        if let n = try r.section(NNreliefSettings.section) { c.nnrelief = try NNreliefSettings.parse(n) }
        if let s = try r.section("sparsity") {
            c.sparsity = try SparsitySettings.parse(s)
            let names = c.model.weightShapes.map(\.name)
            if let unknown = c.sparsity.overrides.keys.sorted().first(where: { !names.contains($0) }) {
                throw s.error("layers", "no layer named '\(unknown)' (layers: \(names.joined(separator: ", ")))")
            }
        }
        try r.rejectUnknownKeys()
        return c
    }

    /// Checks the values that do not depend on the run (flags may have changed them).
    public func validate() throws {
        let fail = fieldError
        guard epochs >= 1 else { throw fail("epochs", "must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw fail("batch_size", "must be at least 1, got \(batchSize)") }
        guard microbatches >= 1 else { throw fail("microbatches", "must be at least 1, got \(microbatches)") }
        guard batchSize % microbatches == 0 else {
            // Blame the value the user chose: a flag over a file, a file over a default.
            if overriddenBy["batch_size"] != nil && overriddenBy["microbatches"] == nil {
                throw fail("batch_size", "\(batchSize) is not divisible by microbatches \(microbatches) (\(origin(of: "microbatches"))); "
                           + "choose a multiple of \(microbatches) or set --microbatches")
            }
            throw fail("microbatches", "\(microbatches) does not divide batch_size \(batchSize) (\(origin(of: "batch_size")))")
        }
        guard evalBatchSize >= 1 else { throw fail("eval_batch_size", "must be at least 1, got \(evalBatchSize)") }
        guard validation >= 0 else { throw fail("validation", "must be non-negative, got \(validation)") }
        if let maxSteps { guard maxSteps >= 1 else { throw fail("max_steps", "must be at least 1, got \(maxSteps)") } }
        guard checkpointEvery >= 0 else { throw fail("checkpoint_every", "must be non-negative, got \(checkpointEvery)") }
        guard checkpointEveryMinutes >= 0 && checkpointEveryMinutes.isFinite else {
            throw fail("checkpoint_every_minutes", "must be a non-negative number, got \(checkpointEveryMinutes)")
        }
        guard checkpointKeep >= 1 else { throw fail("checkpoint_keep", "must be at least 1, got \(checkpointKeep)") }
        guard replicaCheckEvery >= 0 else { throw fail("replica_check_every", "must be non-negative, got \(replicaCheckEvery)") }
        guard learningRate > 0 else { throw fail("optimizer.lr", "must be positive, got \(learningRate)") }
        guard sgd.momentum >= 0 && sgd.momentum < 1 else { throw fail("optimizer.momentum", "must be in [0, 1), got \(sgd.momentum)") }
        guard !sgd.nesterov || sgd.momentum > 0 else { throw fail("optimizer.nesterov", "Nesterov momentum needs momentum > 0") }
        guard sgd.weightDecay >= 0 else { throw fail("optimizer.weight_decay", "must be non-negative, got \(sgd.weightDecay)") }
        if let adam { guard adam.weightDecay >= 0 else { throw fail("optimizer.weight_decay", "must be non-negative, got \(adam.weightDecay)") } }
        // After the flags: `--set sparsity.method=rigl --sparsity 0.9` names the sparsity last.
        let s = sparsity
        if s.traits.sparsifiesLayers && s.sparsity == 0 && s.overrides.values.allSatisfy({ $0 == 0 }) {
            throw fail("sparsity.sparsity", "method \(s.method.name) needs a sparsity above 0")
        }
    }

    /// An error about `field`: `FILE: FIELD: message`, or `FLAG: message` when a flag or a
    /// `--set` override gave the field, or a section holding it, its value.
    public func fieldError(_ field: String, _ message: String) -> SprigError {
        let parts = field.split(separator: ".")
        for n in stride(from: parts.count, to: 0, by: -1) {
            if let flag = overriddenBy[parts[..<n].joined(separator: ".")] { return SprigError(flag, message) }
        }
        return SprigError(source, "\(field): \(message)")
    }

    /// Where `field`'s value comes from: the flag that set it, the config file, or the
    /// default.
    public func origin(of field: String) -> String {
        if let flag = overriddenBy[field] { return "set by \(flag)" }
        let top = String(field.split(separator: ".").first ?? "")
        return keysInFile.contains(top) && source != "defaults" ? "set in \(source)" : "the default"
    }

    /// Checks the values that depend on the run: the number of ranks and the size of the
    /// training set (the model's fit to the data is `model(fitting:)`).
    public func validate(ranks: Int, trainingExamples: Int) throws {
        guard batchSize % ranks == 0 else {
            throw fieldError("batch_size", "\(batchSize) is not divisible by the number of ranks (\(ranks))")
        }
        guard microbatches % ranks == 0 else {
            throw fieldError("microbatches", "\(microbatches) is not a multiple of the number of ranks (\(ranks)); "
                             + "set it to a multiple (a power of two keeps runs identical across rank counts)")
        }
        guard batchSize <= trainingExamples else {
            throw fieldError("batch_size", "\(batchSize) is larger than the training set (\(trainingExamples) examples)")
        }
    }
}
