import Foundation
import MPI
import Sprig

/// Setting up `sprig train`: the config with the flags applied, the checkpoint it
/// continues (`--resume`, or `--auto-resume` from `--checkpoint`), and the trainer.
extension TrainCommand {
    /// The output flags of this run, for the command that resumes it.
    func resumeFlags(checkpoint path: String) -> String {
        var flags: [(String, String?)] = [("--data", data), ("--metrics-out", metricsOut), ("--weights-out", weightsOut),
                                          ("--pictures", pictures)]
        if checkpoint != nil { flags.append(("--checkpoint", path)) }
        if weightsFormat != "auto" { flags.append(("--weights-format", weightsFormat)) }
        if threads != 1 { flags.append(("--threads", String(threads))) }
        return flags.compactMap { flag, value in value.map { " \(flag) \(shellQuoted($0))" } }.joined()
    }

    /// The trainer of this run: the config (from the checkpoint when resuming, else the
    /// file) with the flags applied, the data, and the checkpoint's state; and the file the
    /// run continues, if any.
    func makeTrainer(_ communicator: Communicator) throws -> (Trainer, resumedFrom: String?) {
        let saved = try savedCheckpoint(communicator)
        let sets = try overrides.map(ConfigOverride.init(parsing:))
        var c: TrainingConfig
        if let saved {
            c = try TrainingConfig.parse(text: saved.checkpoint.configText, source: saved.checkpoint.configSource, overrides: sets)
        } else {
            c = try configFromFile(overrides: sets)
        }
        try applyFlags(to: &c)
        if autoResume, let saved {
            // The checkpoint must be of the run this command starts: its config (which holds
            // the flags of the run that wrote it) is this command's config and flags, how
            // often it checkpoints aside.
            var fresh = try configFromFile(overrides: sets)
            try applyFlags(to: &fresh)
            let (ours, theirs) = (Self.runDefining(fresh.yaml), Self.runDefining(saved.checkpoint.configText))
            if ours != theirs {
                let k = zip(ours, theirs).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset ?? min(ours.count, theirs.count)
                let line = { (lines: [String]) in k < lines.count ? "'\(lines[k])'" : "nothing" }
                throw SprigError(saved.file, "--auto-resume: holds a run of another config (\(line(theirs)) where this run has "
                                 + "\(line(ours))); continue it with --resume \(saved.file), or remove it to start again")
            }
        }
        if c.nnrelief != nil {
            throw c.fieldError(NNreliefSettings.section, "is read by sprig prune (NNrelief's rounds); sprig train trains the config's sparsity.method")
        }
        let data = try c.loadData()
        let trainer = try Trainer(config: c, replicas: Replicas(communicator), data: data)
        if let saved { try trainer.restore(saved.checkpoint, source: saved.file) }
        return (trainer, saved?.file)
    }

    /// The lines of a config's YAML that define the run: all but when it checkpoints and
    /// checks its replicas.
    static func runDefining(_ yaml: String) -> [String] {
        yaml.split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix("checkpoint_") && !$0.hasPrefix("replica_check_every") }
    }

    /// `--config`'s file, or the defaults, with `--set`'s overrides (validated later,
    /// after the flags).
    private func configFromFile(overrides sets: [ConfigOverride]) throws -> TrainingConfig {
        if let config { return try TrainingConfig.load(path: config, overrides: sets, validating: false) }
        return sets.isEmpty ? TrainingConfig() : try TrainingConfig.parse(text: "{}", source: "defaults", overrides: sets, validating: false)
    }

    /// The flags that override config fields, applied to `c`, which is then validated.
    private func applyFlags(to c: inout TrainingConfig) throws {
        if let data { c.data.path = data }
        if let epochs { c.epochs = epochs; c.overriddenBy["epochs"] = "--epochs" }
        if let seed { c.seed = UInt64(seed) }
        if let batchSize { c.batchSize = batchSize; c.overriddenBy["batch_size"] = "--batch-size" }
        if let lr { c.learningRate = lr; c.overriddenBy["optimizer.lr"] = "--lr" }
        if let microbatches { c.microbatches = microbatches; c.overriddenBy["microbatches"] = "--microbatches" }
        if let maxSteps { c.maxSteps = maxSteps; c.overriddenBy["max_steps"] = "--max-steps" }
        if let sparsity {
            guard sparsity >= 0 && sparsity < 1 else { throw SprigError("--sparsity", "must be in [0, 1), got \(sparsity)") }
            guard c.sparsity.method != .dense else { throw SprigError("--sparsity", "the config trains a dense model (no sparsity.method)") }
            c.sparsity.sparsity = sparsity
        }
        if let checkpointEvery { c.checkpointEvery = checkpointEvery; c.overriddenBy["checkpoint_every"] = "--checkpoint-every" }
        if let checkpointEveryMinutes {
            c.checkpointEveryMinutes = checkpointEveryMinutes
            c.overriddenBy["checkpoint_every_minutes"] = "--checkpoint-every-minutes"
        }
        if let checkpointKeep { c.checkpointKeep = checkpointKeep; c.overriddenBy["checkpoint_keep"] = "--checkpoint-keep" }
        if let checkEvery { c.replicaCheckEvery = checkEvery; c.overriddenBy["replica_check_every"] = "--check-every" }
        c.injectDivergenceAt = injectDivergenceAt
        try c.validate()
    }

    /// The checkpoint this run continues: the newest valid file of `--resume PATH` (PATH,
    /// else the kept PATH.1, PATH.2, ...), or with `--auto-resume` of `--checkpoint PATH`
    /// when there is one (none: a fresh start). Rank 0 reads it and shares the bytes, so
    /// hosts need no common file system; it says which damaged files it skipped.
    private func savedCheckpoint(_ communicator: Communicator) throws -> (checkpoint: Checkpoint, file: String)? {
        guard let path = resume ?? (autoResume ? checkpoint : nil) else { return nil }
        var found: CheckpointFiles.Found?
        var failure: Error?
        if communicator.isRoot {
            do {
                found = try CheckpointFiles(path: path, keep: 1).newestValid()
                if found == nil && resume != nil { throw SprigError(path, "no such checkpoint") }
            } catch {
                failure = error
            }
        }
        if communicator.allReduce(Int32(failure == nil ? 0 : 1), op: .max, kind: .metrics) != 0 {
            throw failure ?? SprigError(path, "cannot read checkpoint (rank 0)")
        }
        guard communicator.allReduce(Int32(found == nil ? 0 : 1), op: .max, kind: .metrics) != 0 else { return nil }
        var bytes = found?.bytes ?? []
        var name = Array((found?.file ?? "").utf8)
        communicator.broadcast(bytes: &bytes, root: 0, kind: .metrics)
        communicator.broadcast(bytes: &name, root: 0, kind: .metrics)
        let file = String(decoding: name, as: UTF8.self)
        if let found {
            for line in found.skipped {
                printWarning("\(line); using the one before, \(found.file) (step \(found.checkpoint.step))")
            }
        }
        return (try found?.checkpoint ?? Checkpoint.decode(bytes, source: file), file)
    }
}
