import ArgumentParser
import Foundation
import MPI
import Sprig

/// `sprig train`: trains the model of a config file, as one process or under mpirun.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from a YAML config; flags override the file.",
        discussion: "Methods (sparsity.method), each with its own keys:\n"
            + SparseTrainingMethod.all.map { m in
                "  \(m.name): \(m.definition.summary)" + m.options.map { "\n      \($0.key) (\(Self.number($0))): \($0.summary)" }.joined()
            }.joined(separator: "\n")
    )

    /// A method option's default as the config writes it.
    private static func number(_ option: MethodOption) -> String {
        option.isFlag ? "\(option.defaultValue != 0)" : "\(option.defaultValue)"
    }

    @Option(name: .long, help: "YAML config file (defaults apply when omitted).")
    var config: String?

    @Option(name: .long, help: "Data folder (IDX, CIFAR-10/100 binary, or train.npz and test.npz; the format is recognised). Overrides data (or data.path).")
    var data: String?

    @Option(name: .long, parsing: .unconditional, help: "Epochs to train.")
    var epochs: Int?

    @Option(name: .long, parsing: .unconditional, help: "Random seed (initialisation, shuffling, masks).")
    var seed: Int?

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Global batch size, split evenly over the ranks.")
    var batchSize: Int?

    @Option(name: .long, parsing: .unconditional, help: "Micro-batches per global batch (a multiple of the number of ranks).")
    var microbatches: Int?

    @Option(name: .long, parsing: .unconditional, help: "Base learning rate.")
    var lr: Double?

    @Option(name: .customLong("max-steps"), parsing: .unconditional,
            help: "A budget of steps: the run ends after this many, and its learning-rate and mask schedules are laid out over them (config max_steps).")
    var maxSteps: Int?

    @Option(name: .customLong("metrics-out"), help: "Write one JSON line per epoch, and a final line, to this file.")
    var metricsOut: String?

    @Option(name: .customLong("weights-out"), help: "Write the trained weights to this safetensors file.")
    var weightsOut: String?

    @Option(name: .customLong("weights-format"), help: "Sparse layers in --weights-out: dense (a PyTorch state_dict; masks in NAME.masks.safetensors), sparse (CSR), or auto (sparse past 64M dense values).")
    var weightsFormat: String = "auto"

    @Option(name: .long, help: "Write checkpoints to this file (atomically, by rank 0), keeping the ones before as FILE.1, FILE.2, ...")
    var checkpoint: String?

    @Flag(name: .customLong("auto-resume"),
          help: "Continue the run in --checkpoint's file when there is one (the same config and flags), else start it: the same command restarts a run.")
    var autoResume = false

    @Option(name: .customLong("checkpoint-every-minutes"), parsing: .unconditional, help: "Minutes between checkpoints, as well as --checkpoint-every's steps (0: off).")
    var checkpointEveryMinutes: Double?

    @Option(name: .customLong("checkpoint-keep"), parsing: .unconditional,
            help: "Checkpoints kept: the newest and those before it (FILE.1, ...), so that a damaged newest one falls back (default 2).")
    var checkpointKeep: Int?

    @Option(name: .customLong("checkpoint-every"), parsing: .unconditional, help: "Steps between checkpoints (0: only at the end).")
    var checkpointEvery: Int?

    @Option(name: .long, help: "Continue the run saved in this checkpoint (its config, flags override).")
    var resume: String?

    @Option(name: .long, help: "Write pictures here: the first layer's connectivity per input pixel, and its evolution.")
    var pictures: String?

    @Option(name: .long, parsing: .unconditional, help: "Global sparsity of the sparse method (overrides sparsity.sparsity).")
    var sparsity: Double?

    @Option(name: .customLong("check-every"), parsing: .unconditional, help: "Steps between replica checks (0: off).")
    var checkEvery: Int?

    @Option(name: .customLong("inject-divergence-at"), help: .hidden)
    var injectDivergenceAt: Int?

    /// Stops right after step N as an interrupted run would (after writing the checkpoint,
    /// when one is asked for), without changing any schedule: unlike `--max-steps`, the run
    /// up to N is the longer run's first N steps, and `--resume` continues it.
    @Option(name: .customLong("stop-after"), parsing: .unconditional,
            help: "Stop after step N, schedules unchanged (a pause: --resume continues the same run; --max-steps instead shortens the schedules).")
    var stopAfter: Int?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a config key, e.g. --set sparsity.method=set --set sparsity.delta_t=50 (repeatable).",
                                                          valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(name: .long, parsing: .unconditional, help: "BLAS threads per rank. Runs are bitwise reproducible across rank counts only with equal thread counts.")
    var threads: Int = 1

    func validate() throws {
        if let seed, seed < 0 { throw ValidationError("--seed must be non-negative, got \(seed)") }
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let stopAfter, stopAfter < 0 { throw ValidationError("--stop-after must be non-negative, got \(stopAfter)") }
        if autoResume && checkpoint == nil { throw ValidationError("--auto-resume needs --checkpoint PATH (the file it continues from)") }
        if autoResume && resume != nil { throw ValidationError("--auto-resume cannot be combined with --resume (it resumes from --checkpoint)") }
        if resume != nil, let config {
            throw ValidationError("--config \(config) cannot be combined with --resume: a checkpoint continues its own config "
                                  + "(change fields with --set key=value or the flags)")
        }
    }

    func run() throws {
        // First of all, so that a stop that comes while MPI starts (a cluster's early
        // warning of a time limit) is a clean stop after the first step, not the end.
        StopSignal.install()
        let communicator = try startCommunicator()
        BLAS.setThreads(threads)
        let (format, (trainer, resumedFrom)) = try agreeing(communicator) {
            let format = try WeightsFormat(parsing: weightsFormat, option: "--weights-format")
            // Rank 0 writes every output: a path it cannot write fails now, not after training.
            if communicator.isRoot {
                try checkOutputs(files: [("--weights-out", weightsOut), ("--metrics-out", metricsOut), ("--checkpoint", checkpoint)],
                                 folders: [("--pictures", pictures)])
            }
            return (format, try makeTrainer(communicator))
        }
        trainer.stopVote = { StopSignal.caught != nil }
        let isRoot = communicator.isRoot
        let c = trainer.config
        let metrics = isRoot ? metricsOut.map { resumedFrom == nil ? MetricsFile(path: $0) : MetricsFile(continuing: $0, atStep: trainer.step) } : nil
        var progress = Progress(enabled: isRoot, totalSteps: trainer.totalSteps, startStep: trainer.step)
        // the checkpoint resumed from is this run's newest on disk when it is one of its files
        var checkpoints = isRoot ? checkpoint.map { path in
            RunCheckpoints(path: path, config: c, resumedAt: resumedFrom.map { $0 == path || $0.hasPrefix(path + ".") } == true ? trainer.step : nil)
        } : nil
        // Connectivity of the first layer (when it is sparse), before training and after each epoch.
        let firstLayer = trainer.model.layers.first as? SparseLinear
        var frames: [(epoch: Int, counts: [Int])] = []
        if isRoot, pictures != nil, let firstLayer { frames.append((trainer.step / trainer.plan.stepsPerEpoch, ConnectivityMap.counts(firstLayer.pattern))) }
        if isRoot { printHeader(trainer, ranks: communicator.size, exactTree: communicator.treeReductionIsExact, resumedFrom: resumedFrom) }
        if let stopAfter, stopAfter <= trainer.step {
            if isRoot { print("sprig: stopped at step \(trainer.step) (--stop-after \(stopAfter))") }
            communicator.finalize()
            return
        }
        if trainer.step >= trainer.totalSteps {
            // A checkpoint of a finished run: nothing to train, but the outputs asked for.
            let (accuracy, loss) = trainer.evaluate(trainer.data.test)
            if isRoot {
                print("sprig: the run is complete at step \(trainer.step) of \(trainer.totalSteps): nothing to train "
                      + "(raise --epochs or max_steps to train further)")
                do {
                    if let weightsOut { try trainer.writeWeights(to: weightsOut, format: format) }
                } catch {
                    abortJob(communicator, error)
                }
                print(String(format: "done: test_accuracy %.2f%% (test_loss %.4f) after %d steps", accuracy * 100, loss, trainer.step))
            }
            communicator.finalize()
            return
        }
        let start = monotonicSeconds()
        var last: EpochReport?
        var samplesPerSecond: [Double] = []
        var dataPath = (seconds: 0.0, of: 0.0) // gathering batches, of training time (evaluation excluded)
        var communication = CommunicationReport(steps: 0, bytes: [:], denseBytesPerStep: trainer.denseBytesPerStep)
        var unsaved: String?  // the last checkpoint failed, and no --weights-out holds the model
        do {
            try trainer.train(afterStep: { step in
                if isRoot {
                    progress.update(step: step, examplesPerStep: c.batchSize, loss: trainer.epochLossSoFar)
                    if step == stopAfter, let files = checkpoints?.files {
                        try files.write(trainer.checkpoint())
                    } else if checkpoints?.isDue(after: step, of: trainer.totalSteps) == true, let warning = checkpoints?.write(trainer) {
                        progress.clear()
                        printWarning(warning + "; training goes on")
                    }
                }
                if step == stopAfter {
                    // Every rank is at this step: all end here, once rank 0 has written.
                    if isRoot {
                        progress.clear()
                        print("sprig: stopped after step \(step) (--stop-after)" + (checkpoint.map { "; checkpoint written to \($0)" } ?? ""))
                    }
                    communicator.barrier()
                    communicator.finalize()
                    throw ExitCode.success
                }
            }) { report in
                progress.clear()
                last = report
                if isRoot, pictures != nil, let firstLayer { frames.append((report.epoch, ConnectivityMap.counts(firstLayer.pattern))) }
                samplesPerSecond.append(report.samplesPerSecond)
                dataPath.seconds += report.dataSeconds
                dataPath.of += report.seconds
                communication.steps += report.communication.steps
                for (kind, n) in report.communication.bytes { communication.bytes[kind, default: 0] += n }
                guard isRoot else { return }
                print(report.line(epochs: c.epochs))
                try metrics?.append(report.json)
            }
            // The last checkpoint: a failure is a warning while --weights-out keeps the model.
            if isRoot, let warning = checkpoints?.write(trainer) {
                if weightsOut != nil { printWarning(warning) } else { unsaved = warning }
            }
            if isRoot, let pictures { try writePictures(frames, shape: trainer.data.train.exampleShape, title: trainer.connectivityTitle, to: pictures) }
            if isRoot, let last {
                var j = finalLine(trainer, last: last, samplesPerSecond: samplesPerSecond, seconds: monotonicSeconds() - start,
                                  communication: communication, bytesAllreduced: communicator.traffic.total, ranks: communicator.size)
                j.add("data_seconds", dataPath.seconds)
                j.add("data_share", dataPath.seconds / max(dataPath.of, 1e-9))
                try metrics?.append(j)
                if let weightsOut {
                    do {
                        try trainer.writeWeights(to: weightsOut, format: format)
                    } catch {
                        throw noting(error, checkpoints.map { "the trained model is in the checkpoint \($0.files.path) (step \(trainer.step))" }
                                     ?? "the trained model is lost (no --checkpoint)")
                    }
                }
                print(String(format: "done: test_accuracy %.2f%% after %d steps in %.1f s", last.testAccuracy * 100, last.step,
                             monotonicSeconds() - start))
                communication.lines.forEach { print($0) }
                print(String(format: "data path: %.1f%% of the training time (%.2f s of %.2f s reading, augmenting and normalising batches)",
                             100 * dataPath.seconds / max(dataPath.of, 1e-9), dataPath.seconds, dataPath.of))
                if c.sparsity.method != .dense { printSparsitySummary(trainer) }
                if trainer.maskUpdates.count > 0 {
                    print(communication.updateLine(updates: trainer.maskUpdates.count, sparseDenseBytes: trainer.sparseDenseGradientBytes,
                                                   path: (c.sparsity.traits.denseGradients != .never) ? trainer.denseGradientPath.rawValue : nil))
                }
            }
        } catch let divergence as ReplicaCheck.Divergence {
            // Every rank found it: rank 0 says so, and all end together.
            progress.clear()
            if isRoot { printError(divergence.description) }
            communicator.finalize()
            throw ExitCode(3)
        } catch let exit as ExitCode {
            throw exit
        } catch let stopped as Trainer.Stopped {
            progress.clear()
            let caught = StopSignal.caught
            let path = checkpoint ?? FileManager.default.currentDirectoryPath + "/sprig-interrupted.ckpt"
            if isRoot {
                do {
                    try CheckpointFiles(path: path, keep: c.checkpointKeep).write(trainer.checkpoint())
                } catch {
                    abortJob(communicator, noting(error, "after step \(stopped.step); " + (checkpoints?.kept ?? "no checkpoint is kept")))
                }
                let relayed = StopSignal.relayed ? " (relayed as a user signal by launch/mpirun.sh or launch/slurm.sbatch)" : ""
                print("sprig: stopped by \(caught.map(StopSignal.name) ?? "a stop signal to another rank") after step "
                      + "\(stopped.step) of \(trainer.totalSteps)\(relayed); checkpoint written to \(path)")
                print("sprig: resume with: sprig train --resume \(shellQuoted(path))\(resumeFlags(checkpoint: path))"
                      + (communicator.size > 1 ? " (under mpirun or srun, on any power-of-two number of ranks)" : ""))
            }
            // No rank exits before rank 0 has written and said where: mpirun aborts the job
            // (and may drop output) as soon as one rank ends with a non-zero code.
            communicator.barrier()
            communicator.finalize()
            throw ExitCode(128 + (caught ?? SIGTERM))
        } catch let nonFinite as Trainer.NonFiniteLoss {
            progress.clear()
            if isRoot { printError(nonFinite.description + (checkpoints?.newestStep == nil ? "" : " (\(checkpoints!.kept))")) }
            communicator.finalize()
            throw ExitCode(4)
        } catch {
            abortJob(communicator, error)
        }
        if let unsaved {
            printError(unsaved + "; the trained model is not saved (no --weights-out)")
            communicator.finalize()
            throw ExitCode(inputErrorCode)
        }
        communicator.finalize()
    }
}
