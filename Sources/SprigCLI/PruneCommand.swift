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
    @Option(name: .long, parsing: .unconditional, help: "Prune-retrain rounds.") var iterations: Int = 5
    @Option(name: .customLong("retrain-epochs"), parsing: .unconditional, help: "Epochs of retraining after each round.") var retrainEpochs: Int = 10
    @Option(name: .customLong("alpha-fc"), help: "Share of a neuron's activity kept, fully connected layers.") var alphaFC: Double = 0.95
    @Option(name: .customLong("alpha-conv"), help: "Share of a channel's activity kept, convolutions.") var alphaConv: Double = 0.9
    @Option(name: .customLong("pruning-set"), parsing: .unconditional, help: "Training images per round for the statistics.") var pruningSet: Int = 1000
    @Flag(name: .customLong("fine-tune"), help: "Retrain from the current weights instead of the initial ones.") var fineTune = false
    @Option(name: .customLong("metrics-out"), help: "One JSON line per epoch and per round, and a final line.") var metricsOut: String?
    @Option(name: .customLong("weights-out"), help: "The pruned model as safetensors.") var weightsOut: String?
    @Option(name: .customLong("weights-format"), help: "Sparse layers in --weights-out: dense, sparse (CSR) or auto.") var weightsFormat: String = "auto"
    @Option(name: .long, parsing: .unconditional, help: "BLAS threads per rank.") var threads: Int = 1

    func validate() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard retrainEpochs >= 1 else { throw ValidationError("--retrain-epochs must be at least 1") }
        guard alphaFC > 0 && alphaFC <= 1, alphaConv > 0 && alphaConv <= 1 else { throw ValidationError("alphas must be in (0, 1]") }
        guard pruningSet >= 1 else { throw ValidationError("--pruning-set must be at least 1") }
    }

    func run() throws {
        let communicator = try startCommunicator()
        BLAS.setThreads(threads)
        let (format, trainer) = try agreeing(communicator) { () throws -> (WeightsFormat, Trainer) in
            let format = try WeightsFormat(parsing: weightsFormat, option: "--weights-format")
            if communicator.isRoot { try checkOutputs(files: [("--weights-out", weightsOut), ("--metrics-out", metricsOut)]) }
            var c = try TrainingConfig.load(path: config)
            if let data { c.data.path = data }
            if let epochs { c.epochs = epochs; c.overriddenBy["epochs"] = "--epochs" }
            try c.validate()
            let fanIn = c.sparsity.fanIn // the one key of the section that NNrelief uses (its reset's scale)
            c.sparsity = SparsitySettings()
            c.sparsity.method = .nnrelief
            c.sparsity.fanIn = fanIn
            c.replicaCheckEvery = 0
            let dataset = try c.loadData()
            return (format, try Trainer(config: c, replicas: Replicas(communicator), data: dataset))
        }
        let isRoot = communicator.isRoot
        let metrics = isRoot ? metricsOut.map(MetricsFile.init(path:)) : nil
        let pruner = NNreliefPruner(model: trainer.model, alphaFC: alphaFC, alphaConv: alphaConv)
        func report(_ stage: String) throws {
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
            try metrics?.append(j)
        }
        do {
            let epochLine: (EpochReport) throws -> Void = { r in
                if isRoot { print("  " + r.line(epochs: trainer.epochLimit)); try metrics?.append(r.json) }
            }
            if isRoot { print("sprig prune: \(trainer.config.modelName), \(iterations) rounds of NNrelief (alpha fc \(alphaFC), conv \(alphaConv)), \(retrainEpochs) retraining epochs each, \(fineTune ? "fine-tuning" : "from the initial weights")") }
            try trainer.train(onEpoch: epochLine)
            try report("trained")
            for round in 1...iterations {
                trainer.pruneWithNNrelief(pruner, setSize: pruningSet, round: round)
                try report("round \(round) pruned")
                if !fineTune { trainer.resetToInitialWeights() }
                trainer.continueTraining(epochs: retrainEpochs)
                try trainer.train(onEpoch: epochLine)
                try report("round \(round) retrained")
            }
            if isRoot {
                var j = JSONLine()
                j.add("final", true)
                j.add("rounds", iterations)
                j.add("test_accuracy", trainer.evaluate(trainer.data.test).accuracy)
                let layers = trainer.layerSummary
                j.add("active_weights", layers.reduce(0) { $0 + $1.active })
                j.add("dense_weights", layers.reduce(0) { $0 + $1.shape.reduce(1, *) })
                j.add("active_per_layer", counts: layers.map { ($0.name, $0.active) })
                j.add("dense_per_layer", counts: layers.map { ($0.name, $0.shape.reduce(1, *)) })
                j.add("removed_neurons", counts: zip(layers, pruner.removedNeurons).map { ($0.name, $1) })
                j.add("epochs", trainer.epochLimit)
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
