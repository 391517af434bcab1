import Foundation
import MPI
import Sprig

/// What `sprig train` prints and draws about its run: the header, the metrics file's last
/// line, the sparsity summary, and the pictures.
extension TrainCommand {
    /// connectivity.png (the last frame) and connectivity-evolution.png (up to eight frames
    /// evenly spaced over the run, first and last included, on one colour scale). `shape`
    /// is the examples' `[C, H, W]`: a pixel counts the connections of all its channels.
    func writePictures(_ frames: [(epoch: Int, counts: [Int])], shape: [Int], title: String, to directory: String) throws {
        guard !frames.isEmpty, shape.count == 3 else {
            print("sprig: no pictures: the first layer is dense or the inputs are not images")
            return
        }
        let (channels, rows, cols) = (shape[0], shape[1], shape[2])
        let plane = rows * cols
        let frames = frames.map { frame in
            (frame.epoch, (0..<plane).map { p in (0..<channels).reduce(0) { $0 + frame.counts[$1 * plane + p] } })
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let picks = frames.count <= 8 ? Array(frames.indices)
            : (0..<8).map { $0 * (frames.count - 1) / 7 }
        try ConnectivityMap.image([frames.last!.1], rows: rows, cols: cols, title: title, labels: ["epoch \(frames.last!.0)"]).write(to: directory + "/connectivity.png")
        try ConnectivityMap.image(picks.map { frames[$0].1 }, rows: rows, cols: cols, title: title, labels: picks.map { "epoch \(frames[$0].0)" })
            .write(to: directory + "/connectivity-evolution.png")
        print("sprig: wrote \(directory)/connectivity.png and connectivity-evolution.png (epochs \(picks.map { String(frames[$0].0) }.joined(separator: ", ")))")
    }

    /// What this run trains, on rank 0's terminal.
    /// A restarted run (launch/mpirun.sh --max-restarts, a requeued Slurm job) says so first,
    /// with the restart that launch/mpirun.sh passes in `SPRIG_RESTART`.
    func printHeader(_ trainer: Trainer, ranks: Int, exactTree: Bool, resumedFrom: String?) {
        let c = trainer.config
        let restart = ProcessInfo.processInfo.environment["SPRIG_RESTART"].map { "\($0); " } ?? ""
        if let resumedFrom {
            print("sprig: \(restart)resuming at step \(trainer.step) from \(resumedFrom)")
        } else if autoResume {
            print("sprig: \(restart)no checkpoint in \(checkpoint ?? "") yet: starting at step 0")
        }
        print("sprig: data: \(trainer.data.summary)")
        if !c.augmentation.isIdentity {
            print("sprig: augment: random crop with padding \(c.augmentation.cropPadding)"
                  + (c.augmentation.horizontalFlip ? ", horizontal flip" : "") + " (training batches)")
        }
        print("sprig: \(c.modelName) (\(c.model), \(trainer.model.store.count) parameters) on \(c.data.path): "
              + "\(ranks) rank\(ranks == 1 ? "" : "s") x batch \(trainer.plan.localBatch) "
              + "(\(c.microbatches) micro-batches of \(c.batchSize / c.microbatches)), "
              + "\(trainer.plan.stepsPerEpoch) steps/epoch, \(trainer.totalSteps) steps")
        if c.sparsity.method != .dense {
            var line = "sprig: method \(c.sparsity.method.name), \(c.sparsity.distribution.rawValue) distribution, fan_in \(c.sparsity.fanIn.rawValue)"
            if (c.sparsity.traits.denseGradients != .never) {
                let path = trainer.denseGradientPath
                line += ", dense gradients: \(path.rawValue)"
                if path == .gatherFactors { line += " (tiles within \(c.sparsity.tileBudgetMB) MB)" }
            }
            print(line)
        }
        for layer in trainer.layerSummary {
            print(String(format: "  %@  %@  active %ld  density %.4f  %@", layer.name, layer.shape.map(String.init).joined(separator: "x"),
                         layer.active, layer.density, layer.sparseMath ? "sparse kernels" : "dense kernels"))
        }
        if !(exactTree && c.microbatches & (c.microbatches - 1) == 0) {
            print("sprig: note: with \(ranks) ranks and \(c.microbatches) micro-batches the gradient sum is not "
                  + "the fixed pairwise tree; results match other rank counts only up to rounding")
        }
    }

    /// The metrics file's last line: the run's outcome, traffic, sizes and FLOPs.
    func finalLine(_ trainer: Trainer, last: EpochReport, samplesPerSecond: [Double], seconds: Double,
                           communication: CommunicationReport, bytesAllreduced: Int, ranks: Int) -> JSONLine {
        let c = trainer.config
        var j = JSONLine()
        j.add("final", true)
        j.add("epochs", last.epoch)
        j.add("steps", last.step)
        j.add("train_loss", last.trainLoss)
        j.add("test_accuracy", last.testAccuracy)
        j.add("test_loss", last.testLoss)
        if let accuracy = last.validationAccuracy { j.add("validation_accuracy", accuracy) }
        j.add("samples_per_second", samplesPerSecond.reduce(0, +) / Double(samplesPerSecond.count))
        j.add("total_seconds", seconds)
        j.add("bytes_allreduced", bytesAllreduced)
        communication.add(to: &j)
        j.add("ranks", ranks)
        j.add("parameters", trainer.model.store.count)
        j.add("method", c.sparsity.method.name)
        let layers = trainer.layerSummary
        j.add("active_weights", layers.reduce(0) { $0 + $1.active })
        j.add("dense_weights", layers.reduce(0) { $0 + $1.shape.reduce(1, *) })
        j.add("active_per_layer", counts: layers.map { ($0.name, $0.active) })
        j.add("dense_per_layer", counts: layers.map { ($0.name, $0.shape.reduce(1, *)) })
        j.add("training_flops", trainer.flops.total)
        j.add("training_flops_vs_dense", trainer.flops.relativeToDense)
        j.add("inference_flops", trainer.inferenceFLOPsPerExample)
        j.add("inference_flops_vs_dense", trainer.inferenceFLOPsPerExample / Double(trainer.model.denseForwardFLOPsPerExample))
        j.add("mask_updates", trainer.maskUpdates.count)
        if let widths = ConnectedWidths.of(trainer.model) { j.add("connected_widths", widths.map(String.init).joined(separator: "-")) }
        j.add("model", c.modelName)
        j.add("config", c.source)
        return j
    }

    /// Active weights, FLOPs and mask updates at the end of a sparse run.
    func printSparsitySummary(_ trainer: Trainer) {
        let layers = trainer.layerSummary
        print(String(format: "active weights %ld of %ld; training FLOPs %.3f x dense (%.3g); inference FLOPs %.3f x dense; %d mask updates",
                     layers.reduce(0) { $0 + $1.active }, layers.reduce(0) { $0 + $1.shape.reduce(1, *) },
                     trainer.flops.relativeToDense, trainer.flops.total,
                     trainer.inferenceFLOPsPerExample / Double(trainer.model.denseForwardFLOPsPerExample),
                     trainer.maskUpdates.count))
        if let widths = ConnectedWidths.of(trainer.model) {
            print("connected architecture \(widths.map(String.init).joined(separator: "-")) "
                  + "(inputs and neurons with connections in and out, as RigL's appendix B counts them)")
        }
    }
}
