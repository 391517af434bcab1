import Foundation
import Testing
@testable import Sprig
@testable import SprigExport
@testable import SprigTensor
@testable import SprigTraining

/// What a user controls around a run: `--set` overrides, output paths checked before
/// training, a validation split, and a stop that the ranks agree on.
@Suite struct RunControlTests {
    @Test func overridesSetNestedKeysAndAreNamedInErrors() throws {
        let base = "model: lenet-300-100\nepochs: 3\nsparsity: {method: rigl, sparsity: 0.9}\n"
        let sets = try ["sparsity.method=set", "sparsity.delta_t=50", "optimizer.lr=0.05", "sparsity.layers={fc3: 0}"]
            .map(ConfigOverride.init(parsing:))
        let c = try TrainingConfig.parse(text: base, source: "c.yaml", overrides: sets)
        #expect(c.sparsity.method == .set)
        #expect(c.sparsity.deltaT == 50)
        #expect(c.learningRate == 0.05)
        #expect(c.sparsity.overrides == ["fc3": 0])
        #expect(c.epochs == 3)
        // A misspelt key is reported against the override, not the file.
        #expect(throws: SprigError("--set sparsity.metod=set", "unknown key 'sparsity.metod'")) {
            try TrainingConfig.parse(text: base, source: "c.yaml", overrides: [try ConfigOverride(parsing: "sparsity.metod=set")])
        }
        // A field an override set is named by the override in later errors.
        #expect(throws: SprigError("--set batch_size=7", "7 is not divisible by microbatches 4 (the default); "
                                   + "choose a multiple of 4 or set --microbatches")) {
            try TrainingConfig.parse(text: base, source: "c.yaml", overrides: [try ConfigOverride(parsing: "batch_size=7")])
        }
        #expect(throws: SprigError.self) { try ConfigOverride(parsing: "no-equals-sign") }
        #expect(throws: SprigError.self) { try ConfigOverride(parsing: "a..b=1") }
    }

    @Test func outputPathsAreCheckedBeforeWriting() throws {
        let dir = TemporaryDirectory()
        dir.write("file", "x")
        #expect(OutputPath.fileProblem(dir.file("out.safetensors")) == nil)
        #expect(OutputPath.fileProblem(dir.file("missing/out.safetensors")) == "the folder \(dir.file("missing")) does not exist")
        #expect(OutputPath.fileProblem(dir.path) == "is a directory, not a file")
        #expect(OutputPath.fileProblem(dir.file("file/out")) == "\(dir.file("file")) is not a folder")
        #expect(OutputPath.directoryProblem(dir.file("pics/a/b")) == nil)      // created on demand
        #expect(OutputPath.directoryProblem(dir.file("file")) == "exists and is not a directory")
        #expect(OutputPath.directoryProblem(dir.file("file/pics")) == "\(dir.file("file")) is not a folder")
    }

    @Test func validationIsTheTrainingSetsLastExamples() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir)
        let files = try DataSource(path: dir.path, classes: 4).load()
        let data = files.holdingOut(40)
        #expect(data.train.count == 360 && data.validation?.count == 40 && data.test.count == files.test.count)
        #expect(data.validation!.labels == Array(files.train.labels[360...]))
        #expect(data.validation!.pixels! == Array(files.train.pixels![(360 * 64)...]))
        var config = try TrainingConfig.parse(text: "model: {mlp: [64, 32, 4]}\nepochs: 2\nbatch_size: 20\nvalidation: 40\n", source: "v.yaml")
        config.data.path = dir.path
        let trainer = try Trainer(config: config, replicas: .single(), data: files)
        #expect(trainer.plan.stepsPerEpoch == 18)    // 360 examples in batches of 20
        var reports: [EpochReport] = []
        try trainer.train { reports.append($0) }
        #expect(reports.count == 2 && reports.allSatisfy { $0.validationAccuracy != nil && $0.validationLoss != nil })
        #expect(reports.last!.json.text.contains("\"validation_accuracy\": "))
        config.validation = 400
        #expect(throws: SprigError.self) { try Trainer(config: config, replicas: .single(), data: files) }
    }

    /// A stop vote ends training after the step it was cast in, mid-epoch, and the run
    /// resumed from a checkpoint of that step ends where the uninterrupted run does.
    @Test func aStopVoteStopsAfterThatStepAndTheRunResumesExactly() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir)
        var config = try TrainingConfig.parse(text: "model: {mlp: [64, 32, 4]}\nepochs: 2\nbatch_size: 20\n", source: "s.yaml")
        config.data.path = dir.path
        let files = try DataSource(path: dir.path, classes: 4).load()
        let whole = try Trainer(config: config, replicas: .single(), data: files)
        try whole.train { _ in }
        let stopped = try Trainer(config: config, replicas: .single(), data: files)
        var steps = 0
        stopped.stopVote = { steps == 6 }
        #expect(throws: Trainer.Stopped.self) { try stopped.train(afterStep: { steps = $0 }) { _ in } }
        #expect(stopped.step == 7)
        let resumed = try Trainer(config: config, replicas: .single(), data: files)
        try resumed.restore(try Checkpoint.decode(try stopped.checkpoint().encode(), source: "c"), source: "c")
        try resumed.train { _ in }
        #expect(resumed.tensors() == whole.tensors())
    }
}
