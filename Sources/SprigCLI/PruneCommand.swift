import ArgumentParser
import Foundation
import MPI
import Sprig

/// `sprig prune`: NNrelief's prune-retrain loop.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Train, then prune with NNrelief and retrain, round after round (one process or under mpirun).",
        discussion: """
            The config's model starts dense and trains for its epochs. Each round scores every connection by its
            share of its neuron's input activity over a pruning set of training images, keeps per neuron the
            strongest connections that reach alpha, removes dead neurons and neurons without outgoing
            connections, and retrains (from the initial weights, or fine-tuning with --fine-tune).
            Use a constant learning rate: retraining rounds extend the run.
            """
    )

    @Option(name: .long, help: "YAML config (model, data, optimizer; its epochs are the initial training).") var config: String
    @Option(name: .long, help: "Data folder (overrides the config's data path).") var data: String?
    @Option(name: .long, parsing: .unconditional, help: "Epochs of initial training (overrides the config's).") var epochs: Int?
    @Option(name: .long, parsing: .unconditional, help: "Prune-retrain rounds (nnrelief.rounds; default 5).") var iterations: Int?
    @Option(name: .customLong("retrain-epochs"), parsing: .unconditional, help: "Epochs of retraining after each round (nnrelief.retrain_epochs; default 10).") var retrainEpochs: Int?
    @Option(name: .customLong("alpha-fc"), help: "Share of a neuron's activity kept, fully connected layers (nnrelief.alpha_fc; default 0.95).") var alphaFC: Double?
    @Option(name: .customLong("alpha-conv"), help: "Share of a channel's activity kept, convolutions (nnrelief.alpha_conv; default 0.9).") var alphaConv: Double?
    @Option(name: .customLong("pruning-set"), parsing: .unconditional, help: "Training images per round for the statistics (nnrelief.pruning_set; default 1000).") var pruningSet: Int?
    @Flag(name: .customLong("fine-tune"), help: "Retrain from the current weights instead of the initial ones (nnrelief.retrain_from: current).") var fineTune = false
    @Option(name: .customLong("metrics-out"), help: "One JSON line per epoch and per round, and a final line.") var metricsOut: String?
    @Option(name: .customLong("weights-out"), help: "The pruned model as safetensors.") var weightsOut: String?
    @Option(name: .customLong("weights-format"), help: "Sparse layers in --weights-out: dense, sparse (CSR) or auto.") var weightsFormat: String = "auto"
    @Option(name: .long, parsing: .unconditional, help: "BLAS threads per rank.") var threads: Int = 1

    /// The config's `nnrelief:` settings (or the defaults) with the flags' overrides, checked;
    /// an impossible value names its flag, or the config file and field.
    func nnreliefSettings(_ c: TrainingConfig) throws -> NNreliefSettings {
        var n = c.nnrelief ?? NNreliefSettings()
        var flags: [String: String] = [:]
        func set<T>(_ value: T?, _ key: String, _ flag: String, _ path: WritableKeyPath<NNreliefSettings, T>) {
            if let value { n[keyPath: path] = value; flags[key] = flag }
        }
        set(iterations, "rounds", "--iterations", \.rounds)
        set(retrainEpochs, "retrain_epochs", "--retrain-epochs", \.retrainEpochs)
        set(alphaFC, "alpha_fc", "--alpha-fc", \.alphaFC)
        set(alphaConv, "alpha_conv", "--alpha-conv", \.alphaConv)
        set(pruningSet, "pruning_set", "--pruning-set", \.pruningSet)
        if fineTune { n.retrainFrom = .current }
        try n.validate { key, message in flags[key].map { SprigError($0, message) } ?? c.fieldError("nnrelief.\(key)", message) }
        if n.keep == .bestValidation && c.validation == 0 {
            throw c.fieldError("nnrelief.keep", "best_validation needs a validation set: set validation: N (held-out training examples)")
        }
        return n
    }

    func run() throws {
        let communicator = try startCommunicator()
        BLAS.setThreads(threads)
        let (format, settings, trainer) = try agreeing(communicator) { () throws -> (WeightsFormat, NNreliefSettings, Trainer) in
            let format = try WeightsFormat(parsing: weightsFormat, option: "--weights-format")
            if communicator.isRoot { try checkOutputs(files: [("--weights-out", weightsOut), ("--metrics-out", metricsOut)]) }
            var c = try TrainingConfig.load(path: config)
            if let data { c.data.path = data }
            if let epochs { c.epochs = epochs; c.overriddenBy["epochs"] = "--epochs" }
            try c.validate()
            let settings = try nnreliefSettings(c)
            let fanIn = c.sparsity.fanIn // the one key of the section that NNrelief uses (its reset's scale)
            c.sparsity = SparsitySettings()
            c.sparsity.method = NNreliefSettings.method
            c.sparsity.fanIn = fanIn
            c.replicaCheckEvery = 0
            let dataset = try c.loadData()
            return (format, settings, try Trainer(config: c, replicas: Replicas(communicator), data: dataset))
        }
        let isRoot = communicator.isRoot
        let metrics = isRoot ? metricsOut.map(MetricsFile.init(path:)) : nil
        let pruner = NNreliefPruner(model: trainer.model, alphaFC: settings.alphaFC, alphaConv: settings.alphaConv)
        func report(_ stage: String, choice: RetrainingChoice? = nil) throws {
            let (accuracy, _) = trainer.evaluate(trainer.data.test)
            guard isRoot else { return }
            let layers = trainer.layerSummary
            let active = layers.reduce(0) { $0 + $1.active }, dense = layers.reduce(0) { $0 + $1.shape.reduce(1, *) }
            let removed = pruner.removedNeurons
            print(String(format: "%@: test_accuracy %.2f%%  weights %ld of %ld (%.2f%%)  ", stage, accuracy * 100, active, dense, 100 * Double(active) / Double(dense))
                  + zip(layers, removed).map { "\($0.name) \($0.active) (-\($1) neurons)" }.joined(separator: ", "))
            var j = JSONLine()
            j.add("stage", stage)
            j.add("step", trainer.step)
            j.add("test_accuracy", accuracy)
            j.add("active_weights", active)
            j.add("dense_weights", dense)
            j.add("weights_fraction", Double(active) / Double(dense))
            j.add("active_per_layer", counts: layers.map { ($0.name, $0.active) })
            j.add("removed_neurons", counts: zip(layers, removed).map { ($0.name, $1) })
            if let choice { choice.add(to: &j) }
            try metrics?.append(j)
        }
        do {
            let epochLine: (EpochReport) throws -> Void = { r in
                if isRoot { print("  " + r.line(epochs: trainer.epochLimit)); try metrics?.append(r.json) }
            }
            if isRoot {
                let schedule = settings.retrainSchedule.map { ", each with the schedule \($0.yaml)" } ?? ""
                print("sprig prune: \(trainer.config.modelName), \(settings.rounds) rounds of NNrelief (alpha fc \(settings.alphaFC), "
                      + "conv \(settings.alphaConv)), \(settings.retrainEpochs) retraining epochs each\(schedule), "
                      + (settings.retrainFrom == .current ? "fine-tuning" : "from the initial weights")
                      + (settings.keep == .bestValidation ? ", keeping each round's best epoch by validation accuracy" : ""))
            }
            try trainer.train(onEpoch: epochLine)
            try report("trained")
            var choice: RetrainingChoice?
            var rounds = settings.rounds
            for round in 1...settings.rounds {
                trainer.pruneWithNNrelief(pruner, setSize: settings.pruningSet, round: round)
                try report("round \(round) pruned")
                choice = try trainer.retrain(settings, onEpoch: epochLine)
                if isRoot, let choice, settings.keep == .bestValidation {
                    print(String(format: "  kept epoch %ld (validation %.2f%%, test %.2f%%); the best test epoch, %ld, has %.2f%%",
                                 choice.kept.epoch, 100 * (choice.kept.validationAccuracy ?? 0), 100 * choice.kept.testAccuracy,
                                 choice.bestOnTest.epoch, 100 * choice.bestOnTest.testAccuracy))
                }
                try report("round \(round) retrained", choice: choice)
                if let target = settings.targetWeights, trainer.weightsFraction <= target {
                    if isRoot { print(String(format: "sprig prune: stopping after round %ld: %.2f%% of the weights remain (target_weights %g)",
                                             round, 100 * trainer.weightsFraction, target)) }
                    rounds = round
                    break
                }
            }
            if isRoot {
                var j = JSONLine()
                j.add("final", true)
                j.add("rounds", rounds)
                j.add("test_accuracy", trainer.evaluate(trainer.data.test).accuracy)
                let layers = trainer.layerSummary
                j.add("active_weights", layers.reduce(0) { $0 + $1.active })
                j.add("dense_weights", layers.reduce(0) { $0 + $1.shape.reduce(1, *) })
                j.add("active_per_layer", counts: layers.map { ($0.name, $0.active) })
                j.add("dense_per_layer", counts: layers.map { ($0.name, $0.shape.reduce(1, *)) })
                j.add("removed_neurons", counts: zip(layers, pruner.removedNeurons).map { ($0.name, $1) })
                j.add("epochs", trainer.epochLimit)
                choice?.add(to: &j)
                try metrics?.append(j)
                if let weightsOut { try trainer.writeWeights(to: weightsOut, format: format) }
            } else {
                _ = trainer.evaluate(trainer.data.test)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            abortJob(communicator, error)
        }
        communicator.finalize()
    }
}
