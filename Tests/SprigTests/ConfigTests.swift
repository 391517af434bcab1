import Foundation
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

@Suite struct ConfigTests {
    @Test func parsesAFullConfig() throws {
        let c = try TrainingConfig.parse(text: """
            model: lenet-300-100
            data: somewhere
            epochs: 3
            batch_size: 64
            microbatches: 2
            seed: 7
            init: he_normal
            optimizer: {name: sgd, lr: 0.05, momentum: 0.8, nesterov: false, weight_decay: 1e-4}
            schedule: {name: step, milestones: [1, 2], gamma: 0.5, warmup_epochs: 0.5}
            """, source: "c.yaml")
        #expect(c.modelName == "lenet-300-100")
        #expect(c.model == .mlp(sizes: [784, 300, 100, 10]))
        #expect(c.data == DataSource(path: "somewhere") && c.epochs == 3 && c.batchSize == 64 && c.microbatches == 2 && c.seed == 7)
        #expect(c.initializer == .heNormal)
        #expect(c.learningRate == 0.05 && c.sgd == SGD.Settings(momentum: 0.8, nesterov: false, weightDecay: 1e-4))
        #expect(c.schedule == LearningRateSchedule(shape: .step(milestones: [1, 2], gamma: 0.5), warmupEpochs: 0.5))
    }

    /// The effective config written as YAML parses back to the same config, for every
    /// shipped config and for one with every field changed.
    @Test func effectiveYAMLRoundTrips() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("configs").path
        var configs = try FileManager.default.enumerator(atPath: dir)!.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".yaml") }.map { try TrainingConfig.load(path: dir + "/" + $0) }
        configs.append(try TrainingConfig.parse(text: """
            model: {mlp: [64, 7, 3]}
            data: "a dir: with # odd chars"
            epochs: 3
            batch_size: 24
            microbatches: 2
            eval_batch_size: 7
            seed: 99
            init: he_normal
            max_steps: 50
            replica_check_every: 3
            checkpoint_every: 4
            optimizer: {name: adam, lr: 0.00123456789, beta1: 0.8, beta2: 0.99, eps: 1e-7, weight_decay: 3e-5, decay_biases: true}
            schedule: {name: step, milestones: [1, 2], gamma: 0.25, warmup_epochs: 0.5}
            sparsity: {method: snfs, distribution: erk, sparsity: 0.7, layers: {fc2: 0.1}, delta_t: 7, drop_fraction: 0.2,
                       drop_schedule: exponential, begin_step: 3, end_step: 40, snfs_momentum: 0.8, redistribution: true,
                       dense_math_density: 0.4, dense_gradient_reduction: allreduce}
            normalize: false
            nnrelief: {rounds: 3, retrain_epochs: 7, alpha_fc: 0.9, alpha_conv: 0.85, pruning_set: 500, retrain_from: current,
                       retrain_schedule: {name: cosine, min_lr: 0.001}, keep: best_validation}
            """, source: "x.yaml"))
        for c in configs {
            var back = try TrainingConfig.parse(text: c.yaml, source: c.source)
            back.text = c.text
            back.keysInFile = c.keysInFile
            #expect(back == c, "\(c.source)")
        }
    }

    @Test func customMLP() throws {
        let c = try TrainingConfig.parse(text: "model: {mlp: [64, 16, 4]}", source: "c.yaml")
        #expect(c.model == .mlp(sizes: [64, 16, 4]))
    }

    @Test(arguments: [
        ("epochz: 3", "unknown key 'epochz'"),
        ("optimizer: {lrr: 0.1}", "unknown key 'optimizer.lrr'"),
        ("optimizer: {lr: -0.1}", "optimizer.lr: must be positive, got -0.1"),
        ("optimizer: {lr: fast}", "optimizer.lr: must be a finite number, got 'fast'"),
        ("optimizer: {momentum: 1.5}", "optimizer.momentum: must be in [0, 1), got 1.5"),
        ("epochs: 0", "epochs: must be at least 1, got 0"),
        ("batch_size: -5", "batch_size: must be at least 1, got -5"),
        ("batch_size: 100\nmicrobatches: 3", "microbatches: 3 does not divide batch_size 100"),
        ("model: resnet", "model: unknown model 'resnet'"),
        ("schedule: {name: linear}", "schedule.name: unknown schedule 'linear'"),
        ("seed: -1", "seed: must be non-negative, got -1"),
        ("epochs: [1, 2]", "epochs: must be an integer"),
        ("just a string", "the config must be a mapping"),
        ("epochs: 3\nepochs: 4", "duplicated key(s): 'epochs'"),
        ("a: [unclosed", "not valid YAML"),
    ])
    func rejectsBadConfigs(text: String, expected: String) {
        let error = sprigError { _ = try TrainingConfig.parse(text: text, source: "bad.yaml") }
        #expect(error?.subject == "bad.yaml")
        #expect(error?.message.contains(expected) == true, "got \(String(describing: error))")
    }

    @Test func runDependentChecksNameTheField() throws {
        let c = try TrainingConfig.parse(text: "batch_size: 104\nmicrobatches: 4", source: "r.yaml")
        #expect(sprigError { try c.validate(ranks: 3, trainingExamples: 1000) }?.message
            == "batch_size: 104 is not divisible by the number of ranks (3)")
        #expect(sprigError { try c.validate(ranks: 8, trainingExamples: 1000) }?.message
            .hasPrefix("microbatches: 4 is not a multiple of the number of ranks (8)") == true)
        #expect(sprigError { try c.validate(ranks: 1, trainingExamples: 50) }?.message
            .hasPrefix("batch_size: 104 is larger than the training set") == true)
        try c.validate(ranks: 4, trainingExamples: 1000)
    }

    @Test func missingConfigFileIsNamed() {
        let error = sprigError { _ = try TrainingConfig.load(path: "/nonexistent/c.yaml") }
        #expect(error == SprigError("/nonexistent/c.yaml", "no such config file"))
    }

    /// Every config shipped in configs/ parses.
    @Test func shippedConfigsParse() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("configs").path
        let files = FileManager.default.enumerator(atPath: dir)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".yaml") }
        #expect(files.count >= 27)
        for f in files { _ = try TrainingConfig.load(path: dir + "/" + f) }
    }
}
