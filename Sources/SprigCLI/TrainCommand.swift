import ArgumentParser
import Foundation
import MPI
import Sprig

/// `sprig train`: trains the model of a config file, as one process or under mpirun.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from a YAML config; flags override the file."
    )

    @Option(name: .long, help: "YAML config file (defaults apply when omitted).")
    var config: String?

    @Option(name: .long, help: "MNIST-format data directory.")
    var data: String?

    @Option(name: .long, help: "Epochs to train.")
    var epochs: Int?

    @Option(name: .long, help: "Random seed (initialisation, shuffling, masks).")
    var seed: Int?

    @Option(name: .customLong("batch-size"), help: "Global batch size, split evenly over the ranks.")
    var batchSize: Int?

    @Option(name: .long, help: "Micro-batches per global batch (a multiple of the number of ranks).")
    var microbatches: Int?

    @Option(name: .long, help: "Base learning rate.")
    var lr: Double?

    @Option(name: .customLong("max-steps"), help: "Stop after this many steps.")
    var maxSteps: Int?

    @Option(name: .customLong("metrics-out"), help: "Write one JSON line per epoch, and a final line, to this file.")
    var metricsOut: String?

    @Option(name: .customLong("weights-out"), help: "Write the trained weights to this safetensors file.")
    var weightsOut: String?

    @Option(name: .customLong("weights-format"), help: "Sparse layers in --weights-out: dense (a PyTorch state_dict; masks in NAME.masks.safetensors), sparse (CSR), or auto (sparse past 64M dense values).")
    var weightsFormat: String = "auto"

    @Option(name: .long, help: "Write checkpoints to this file (atomically, by rank 0).")
    var checkpoint: String?

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints (0: only at the end).")
    var checkpointEvery: Int?

    @Option(name: .long, help: "Continue the run saved in this checkpoint (its config, flags override).")
    var resume: String?

    @Option(name: .long, help: "Write pictures here: the first layer's connectivity per input pixel, and its evolution.")
    var pictures: String?

    @Option(name: .long, help: "Global sparsity of the sparse method (overrides sparsity.sparsity).")
    var sparsity: Double?

    @Option(name: .customLong("check-every"), help: "Steps between replica checks (0: off).")
    var checkEvery: Int?

    @Option(name: .customLong("inject-divergence-at"), help: .hidden)
    var injectDivergenceAt: Int?

    /// Test hook: stop right after step N as an interrupted run would (after writing the
    /// checkpoint, when one is asked for), without changing any schedule.
    @Option(name: .customLong("stop-after"), help: .hidden)
    var stopAfter: Int?

    @Option(name: .long, help: "BLAS threads per rank. Runs are bitwise reproducible across rank counts only with equal thread counts.")
    var threads: Int = 1

    func validate() throws {
        if let seed, seed < 0 { throw ValidationError("--seed must be non-negative, got \(seed)") }
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// connectivity.png (the last frame) and connectivity-evolution.png (up to eight frames
    /// evenly spaced over the run, first and last included, on one colour scale).
    private func writePictures(_ frames: [(epoch: Int, counts: [Int])], shape: [Int], to directory: String) throws {
        guard !frames.isEmpty, shape.count == 2 else {
            print("sprig: no pictures: the first layer is dense or the inputs are not images")
            return
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let picks = frames.count <= 8 ? Array(frames.indices)
            : (0..<8).map { $0 * (frames.count - 1) / 7 }
        try ConnectivityMap.image([frames.last!.counts], rows: shape[0], cols: shape[1]).write(to: directory + "/connectivity.png")
        try ConnectivityMap.image(picks.map { frames[$0].counts }, rows: shape[0], cols: shape[1])
            .write(to: directory + "/connectivity-evolution.png")
        print("sprig: wrote \(directory)/connectivity.png and connectivity-evolution.png (epochs \(picks.map { String(frames[$0].epoch) }.joined(separator: ", ")))")
    }

    func run() throws {
        let communicator = try startCommunicator()
        BLAS.setThreads(threads)
        let (format, trainer) = try agreeing(communicator) {
            (try WeightsFormat(parsing: weightsFormat, option: "--weights-format"), try makeTrainer(communicator))
        }
        let isRoot = communicator.isRoot
        let c = trainer.config
        let metrics = isRoot ? metricsOut.map { resume == nil ? MetricsFile(path: $0) : MetricsFile(continuing: $0) } : nil
        var progress = Progress(enabled: isRoot, totalSteps: trainer.totalSteps, startStep: trainer.step)
        var lastCheckpoint: Int?
        // Connectivity of the first layer (when it is sparse), before training and after each epoch.
        let firstLayer = trainer.model.layers.first as? SparseLinear
        var frames: [(epoch: Int, counts: [Int])] = []
        if isRoot, pictures != nil, let firstLayer { frames.append((trainer.step / trainer.plan.stepsPerEpoch, ConnectivityMap.counts(firstLayer.pattern))) }
        if isRoot { printHeader(trainer, ranks: communicator.size, exactTree: communicator.treeReductionIsExact) }
        if let stopAfter, stopAfter <= trainer.step {
            if isRoot { print("sprig: stopped at step \(trainer.step) (--stop-after \(stopAfter))") }
            communicator.finalize()
            return
        }
        let start = monotonicSeconds()
        var last: EpochReport?
        var samplesPerSecond: [Double] = []
        var communication = CommunicationReport(steps: 0, bytes: [:], denseBytesPerStep: trainer.denseBytesPerStep)
        do {
            try trainer.train(afterStep: { step in
                guard isRoot else { return }
                progress.update(step: step, examplesPerStep: c.batchSize)
                if let checkpoint, c.checkpointEvery > 0, step % c.checkpointEvery == 0, step < trainer.totalSteps {
                    try trainer.checkpoint().write(to: checkpoint)
                    lastCheckpoint = step
                }
                if step == stopAfter {
                    progress.clear()
                    print("sprig: stopped after step \(step) (--stop-after)")
                    communicator.finalize()
                    throw ExitCode.success
                }
            }) { report in
                progress.clear()
                last = report
                if isRoot, pictures != nil, let firstLayer { frames.append((report.epoch, ConnectivityMap.counts(firstLayer.pattern))) }
                samplesPerSecond.append(report.samplesPerSecond)
                communication.steps += report.communication.steps
                for (kind, n) in report.communication.bytes { communication.bytes[kind, default: 0] += n }
                guard isRoot else { return }
                print(report.line(epochs: c.epochs))
                try metrics?.append(report.json)
            }
            if isRoot, let checkpoint { try trainer.checkpoint().write(to: checkpoint) }
            if isRoot, let pictures { try writePictures(frames, shape: trainer.data.train.exampleShape, to: pictures) }
            if isRoot, let last {
                let j = finalLine(trainer, last: last, samplesPerSecond: samplesPerSecond, seconds: monotonicSeconds() - start,
                                  communication: communication, bytesAllreduced: communicator.traffic.total, ranks: communicator.size)
                try metrics?.append(j)
                if let weightsOut { try trainer.writeWeights(to: weightsOut, format: format) }
                print(String(format: "done: test_accuracy %.2f%% after %d steps in %.1f s", last.testAccuracy * 100, last.step,
                             monotonicSeconds() - start))
                communication.lines.forEach { print($0) }
                if c.sparsity.method != .dense { printSparsitySummary(trainer) }
                if trainer.maskUpdates.count > 0 {
                    print(communication.updateLine(updates: trainer.maskUpdates.count, sparseDenseBytes: trainer.sparseDenseGradientBytes,
                                                   path: c.sparsity.method.usesDenseGradients ? trainer.denseGradientPath.rawValue : nil))
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
        } catch let nonFinite as Trainer.NonFiniteLoss {
            progress.clear()
            var kept = ""
            if let checkpoint, let lastCheckpoint { kept = " (the checkpoint \(checkpoint) of step \(lastCheckpoint) is kept)" }
            if isRoot { printError(nonFinite.description + kept) }
            communicator.finalize()
            throw ExitCode(4)
        } catch {
            abortJob(communicator, error)
        }
        communicator.finalize()
    }

    /// The trainer of this run: the config (from the checkpoint when resuming, else the
    /// file) with the flags applied, the data, and the checkpoint's state.
    private func makeTrainer(_ communicator: Communicator) throws -> Trainer {
        // A checkpoint is read by rank 0 and shared, so hosts need no common file system.
        var saved: Checkpoint?
        if let resume {
            var bytes: [UInt8] = []
            var readError: Int32 = 0
            if communicator.isRoot {
                if let data = FileManager.default.contents(atPath: resume) { bytes = [UInt8](data) } else { readError = 1 }
            }
            if communicator.allReduce(readError, op: .max, kind: .metrics) != 0 {
                throw SprigError(resume, FileManager.default.fileExists(atPath: resume) ? "cannot read checkpoint" : "no such checkpoint")
            }
            communicator.broadcast(bytes: &bytes, root: 0, kind: .metrics)
            saved = try Checkpoint.decode(bytes, source: resume)
        }
        var c = try saved.map { try TrainingConfig.parse(text: $0.configText, source: $0.configSource) }
            ?? config.map(TrainingConfig.load(path:)) ?? TrainingConfig()
        if let data { c.data = data }
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
        if let checkEvery { c.replicaCheckEvery = checkEvery; c.overriddenBy["replica_check_every"] = "--check-every" }
        c.injectDivergenceAt = injectDivergenceAt
        try c.validate()
        let data = try MNISTData(directory: c.data, classes: c.model.classes)
        let trainer = try Trainer(config: c, replicas: Replicas(communicator), data: data)
        if let saved, let resume { try trainer.restore(saved, source: resume) }
        return trainer
    }

    /// What this run trains, on rank 0's terminal.
    private func printHeader(_ trainer: Trainer, ranks: Int, exactTree: Bool) {
        let c = trainer.config
        if resume != nil { print("sprig: resuming at step \(trainer.step) from \(resume!)") }
        print("sprig: \(c.modelName) (\(c.model), \(trainer.model.store.count) parameters) on \(c.data): "
              + "\(ranks) rank\(ranks == 1 ? "" : "s") x batch \(trainer.plan.localBatch) "
              + "(\(c.microbatches) micro-batches of \(c.batchSize / c.microbatches)), "
              + "\(trainer.plan.stepsPerEpoch) steps/epoch, \(trainer.totalSteps) steps")
        if c.sparsity.method != .dense {
            var line = "sprig: method \(c.sparsity.method.rawValue), \(c.sparsity.distribution.rawValue) distribution, fan_in \(c.sparsity.fanIn.rawValue)"
            if c.sparsity.method.usesDenseGradients {
                let path = trainer.denseGradientPath
                line += ", dense gradients: \(path.rawValue)"
                if path == .gatherFactors { line += " (tiles within \(c.sparsity.tileBudgetMB) MB)" }
            }
            print(line)
        }
        for layer in trainer.layerSummary {
            print(String(format: "  %@  %@  active %ld  density %.4f  %@", layer.name, layer.shape.map(String.init).joined(separator: "x"),
                         layer.active, layer.density, layer.sparseMath ? "sparse kernels" : "dense sgemm"))
        }
        if !(exactTree && c.microbatches & (c.microbatches - 1) == 0) {
            print("sprig: note: with \(ranks) ranks and \(c.microbatches) micro-batches the gradient sum is not "
                  + "the fixed pairwise tree; results match other rank counts only up to rounding")
        }
    }

    /// The metrics file's last line: the run's outcome, traffic, sizes and FLOPs.
    private func finalLine(_ trainer: Trainer, last: EpochReport, samplesPerSecond: [Double], seconds: Double,
                           communication: CommunicationReport, bytesAllreduced: Int, ranks: Int) -> JSONLine {
        let c = trainer.config
        var j = JSONLine()
        j.add("final", true)
        j.add("epochs", last.epoch)
        j.add("steps", last.step)
        j.add("train_loss", last.trainLoss)
        j.add("test_accuracy", last.testAccuracy)
        j.add("test_loss", last.testLoss)
        j.add("samples_per_second", samplesPerSecond.reduce(0, +) / Double(samplesPerSecond.count))
        j.add("total_seconds", seconds)
        j.add("bytes_allreduced", bytesAllreduced)
        communication.add(to: &j)
        j.add("ranks", ranks)
        j.add("parameters", trainer.model.store.count)
        j.add("method", c.sparsity.method.rawValue)
        let layers = trainer.layerSummary
        j.add("active_weights", layers.reduce(0) { $0 + $1.active })
        j.add("dense_weights", layers.reduce(0) { $0 + $1.shape.reduce(1, *) })
        j.add("active_per_layer", counts: layers.map { ($0.name, $0.active) })
        j.add("dense_per_layer", counts: layers.map { ($0.name, $0.shape.reduce(1, *)) })
        j.add("training_flops", trainer.flops.total)
        j.add("training_flops_vs_dense", trainer.flops.relativeToDense)
        j.add("inference_flops", Double(trainer.model.forwardFLOPsPerExample))
        j.add("inference_flops_vs_dense", Double(trainer.model.forwardFLOPsPerExample) / Double(trainer.model.denseForwardFLOPsPerExample))
        j.add("mask_updates", trainer.maskUpdates.count)
        j.add("model", c.modelName)
        j.add("config", c.source)
        return j
    }

    /// Active weights, FLOPs and mask updates at the end of a sparse run.
    private func printSparsitySummary(_ trainer: Trainer) {
        let layers = trainer.layerSummary
        print(String(format: "active weights %ld of %ld; training FLOPs %.3f x dense (%.3g); inference FLOPs %.3f x dense; %d mask updates",
                     layers.reduce(0) { $0 + $1.active }, layers.reduce(0) { $0 + $1.shape.reduce(1, *) },
                     trainer.flops.relativeToDense, trainer.flops.total,
                     Double(trainer.model.forwardFLOPsPerExample) / Double(trainer.model.denseForwardFLOPsPerExample),
                     trainer.maskUpdates.count))
    }
}
