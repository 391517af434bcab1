import SprigTensor
import SprigData
import SprigSparsity

/// NNrelief's prune-retrain rounds (Dekhovich, Tax, Sluiter, Bessa, "Neural network relief:
/// a pruning algorithm based on neural activity", Machine Learning 2024), the config's
/// `nnrelief:` mapping, read by `sprig prune` (its flags override it):
///
/// ```yaml
/// nnrelief:
///   rounds: 5                  # prune-retrain rounds (at most, with target_weights)
///   target_weights: 0.02       # optional: stop after the round that leaves at most this share of the weights
///   retrain_epochs: 10         # epochs of retraining after each round
///   alpha_fc: 0.95             # share of a neuron's input activity kept, fully connected layers
///   alpha_conv: 0.9            # the same for a convolution's output channel
///   pruning_set: 1000          # training images whose activity scores the connections
///   retrain_from: initial      # initial: rewind to the initial weights (the reference's LeNets); current: fine-tune
///   retrain_schedule: {name: step, milestones: [30], gamma: 0.1}   # each round's own, from its start
///   keep: best_validation      # or last: the retraining epoch a round ends with
/// ```
///
/// Without `retrain_schedule` the run's `schedule` goes on through the rounds (use a constant
/// one). With it, every round restarts that schedule over its `retrain_epochs`, and starts
/// from fresh optimizer state, as the reference code (adekhovich/NNrelief, `eval.py`) builds a
/// new optimizer and scheduler per round. `keep: best_validation` ends each round at its
/// retraining epoch of highest validation accuracy (the first of equals), which needs
/// `validation: N`; the reference code makes this choice on the test set.
public struct NNreliefSettings: Equatable {
    /// The config section these settings come from, named after the method.
    public static let section = NNrelief.name
    /// The method `sprig prune` trains its rounds with (every layer dense at first).
    public static let method = SparseTrainingMethod(NNrelief.self)
    /// Where each round's retraining starts.
    public enum RetrainFrom: String, CaseIterable { case initial, current }
    /// Which retraining epoch a round ends with.
    public enum Keep: String, CaseIterable {
        case last
        case bestValidation = "best_validation"
    }

    public var rounds = 5
    /// Stop after the first round whose retrained model keeps at most this share of the
    /// weights (a sparsity to compare at); nil: all `rounds`.
    public var targetWeights: Double?
    public var retrainEpochs = 10
    public var alphaFC = 0.95
    public var alphaConv = 0.9
    public var pruningSet = 1000
    public var retrainFrom = RetrainFrom.initial
    public var retrainSchedule: LearningRateSchedule?
    public var keep = Keep.last

    public init() {}

    /// Reads the `nnrelief:` mapping; unknown keys and impossible values name the field.
    public static func parse(_ r: ConfigReader) throws -> NNreliefSettings {
        var n = NNreliefSettings()
        n.rounds = try r.int("rounds") ?? n.rounds
        n.targetWeights = try r.double("target_weights")
        n.retrainEpochs = try r.int("retrain_epochs") ?? n.retrainEpochs
        n.alphaFC = try r.double("alpha_fc") ?? n.alphaFC
        n.alphaConv = try r.double("alpha_conv") ?? n.alphaConv
        n.pruningSet = try r.int("pruning_set") ?? n.pruningSet
        if let from = try r.string("retrain_from") {
            n.retrainFrom = try DataSource.option(from, fail: { r.error("retrain_from", $0) })
        }
        if let s = try r.section("retrain_schedule") { n.retrainSchedule = try LearningRateSchedule.parse(s) }
        if let keep = try r.string("keep") { n.keep = try DataSource.option(keep, fail: { r.error("keep", $0) }) }
        try r.rejectUnknownKeys()
        try n.validate { r.error($0, $1) }
        return n
    }

    /// Checks the values (flags may have changed them); `fail` names the field.
    public func validate(_ fail: (String, String) -> SprigError) throws {
        guard rounds >= 1 else { throw fail("rounds", "must be at least 1, got \(rounds)") }
        if let targetWeights {
            guard targetWeights > 0 && targetWeights < 1 else { throw fail("target_weights", "must be in (0, 1), got \(targetWeights)") }
        }
        guard retrainEpochs >= 1 else { throw fail("retrain_epochs", "must be at least 1, got \(retrainEpochs)") }
        guard alphaFC > 0 && alphaFC <= 1 else { throw fail("alpha_fc", "must be in (0, 1], got \(alphaFC)") }
        guard alphaConv > 0 && alphaConv <= 1 else { throw fail("alpha_conv", "must be in (0, 1], got \(alphaConv)") }
        guard pruningSet >= 1 else { throw fail("pruning_set", "must be at least 1, got \(pruningSet)") }
    }

    /// The mapping as YAML lines that `parse` reads back to equal settings.
    public var yaml: [String] {
        var lines = ["nnrelief:", "  rounds: \(rounds)"]
        if let targetWeights { lines.append("  target_weights: \(String(targetWeights))") }
        lines += ["  retrain_epochs: \(retrainEpochs)", "  alpha_fc: \(String(alphaFC))", "  alpha_conv: \(String(alphaConv))",
                  "  pruning_set: \(pruningSet)", "  retrain_from: \(retrainFrom.rawValue)"]
        if let retrainSchedule { lines.append("  retrain_schedule: \(retrainSchedule.yaml)") }
        lines.append("  keep: \(keep.rawValue)")
        return lines
    }
}
