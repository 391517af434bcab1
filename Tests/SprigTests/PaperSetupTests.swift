import Foundation
import Testing
@testable import SprigData
@testable import SprigTensor
@testable import SprigSparsity
@testable import SprigTraining

/// What the papers' setups (configs/paper/) need beyond the usual training run: NNrelief's
/// settings, RigL's unstandardised inputs and its connected architecture.
@Suite struct PaperSetupTests {
    @Test func nnreliefSettingsReadTheirDefaultsAndValues() throws {
        let none = try TrainingConfig.parse(text: "epochs: 1", source: "c.yaml")
        #expect(none.nnrelief == nil)
        let c = try TrainingConfig.parse(text: """
            validation: 100
            nnrelief: {rounds: 4, retrain_schedule: {name: step, milestones: [30], gamma: 0.1}, keep: best_validation}
            """, source: "c.yaml")
        var expected = NNreliefSettings()
        expected.rounds = 4
        expected.retrainSchedule = LearningRateSchedule(shape: .step(milestones: [30], gamma: 0.1))
        expected.keep = .bestValidation
        #expect(c.nnrelief == expected)
        #expect(expected.retrainEpochs == 10 && expected.alphaFC == 0.95 && expected.alphaConv == 0.9
                && expected.pruningSet == 1000 && expected.retrainFrom == .initial)
    }

    @Test func nnreliefSettingsRejectBadValuesNamingTheField() {
        let cases = [("nnrelief: {rounds: 0}", "nnrelief.rounds: must be at least 1, got 0"),
                     ("nnrelief: {alpha_fc: 1.5}", "nnrelief.alpha_fc: must be in (0, 1], got 1.5"),
                     ("nnrelief: {target_weights: 1}", "nnrelief.target_weights: must be in (0, 1), got 1.0"),
                     ("nnrelief: {retrain_from: scratch}", "nnrelief.retrain_from: must be initial or current, got 'scratch'"),
                     ("nnrelief: {keep: best}", "nnrelief.keep: must be last or best_validation, got 'best'"),
                     ("nnrelief: {retrain_schedule: {name: linear}}", "nnrelief.retrain_schedule.name: unknown schedule 'linear'"),
                     ("normalize: 3", "normalize: must be true or false")]
        for (text, message) in cases {
            let error = sprigError { _ = try TrainingConfig.parse(text: text, source: "c.yaml") }
            #expect(error?.subject == "c.yaml" && error?.message.hasPrefix(message) == true, "\(text): \(String(describing: error))")
        }
    }

    @Test func scheduleYAMLRoundTrips() throws {
        let s = LearningRateSchedule(shape: .step(milestones: [2], gamma: 0.1), warmupEpochs: 0.5)
        let back = try LearningRateSchedule.parse(ConfigReader(text: s.yaml, source: "s"))
        #expect(back == s)
        let plain = LearningRateSchedule(shape: .step(milestones: [2], gamma: 0.1))
        #expect(plain.rate(base: 1, step: 19, stepsPerEpoch: 10, totalSteps: 40) == 1)
        #expect(abs(plain.rate(base: 1, step: 20, stepsPerEpoch: 10, totalSteps: 40) - 0.1) < 1e-12)
    }

    /// A retraining round with its own schedule restarts it (the rate drops at the round's
    /// own milestone, whatever step the run is at), and ends at the epoch of best validation
    /// accuracy, whose test accuracy the model then has.
    @Test func retrainingRestartsItsScheduleAndKeepsTheBestValidationEpoch() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 60, test: 20, side: 8)
        let data = try DataSource(path: dir.path).load()
        var config = try TrainingConfig.parse(text: """
            model: {mlp: [64, 8, 4]}
            batch_size: 20
            microbatches: 1
            epochs: 3
            validation: 20
            optimizer: {name: sgd, lr: 0.5}
            schedule: {name: step, milestones: [1], gamma: 0.5}
            nnrelief: {rounds: 1, retrain_epochs: 6, retrain_schedule: {name: step, milestones: [2], gamma: 0.1}, keep: best_validation}
            """, source: "c.yaml")
        config.data.path = dir.path
        config.sparsity.method = .nnrelief
        let trainer = try Trainer(config: config, replicas: .single(), data: data)
        var first: [EpochReport] = []
        try trainer.train { first.append($0) }
        #expect(first.map(\.learningRate) == [0.5, 0.25, 0.25])
        var round: [EpochReport] = []
        let choice = try trainer.retrain(config.nnrelief!) { round.append($0) }
        #expect(round.map(\.epoch) == [4, 5, 6, 7, 8, 9])
        for (r, lr) in zip(round, [0.5, 0.5, 0.05, 0.05, 0.05, 0.05]) { #expect(abs(r.learningRate - lr) < 1e-12) }
        let best = round.max { ($0.validationAccuracy!, -$0.epoch) < ($1.validationAccuracy!, -$1.epoch) }!
        #expect(choice.kept.epoch == best.epoch && best.epoch != 9) // an earlier epoch: the weights were put back
        #expect(trainer.evaluate(data.test).accuracy == best.testAccuracy)
        #expect(choice.bestOnTest.testAccuracy == round.map(\.testAccuracy).max())
    }

    @Test func unscaledInputsArePixelsOver255() {
        let data = Dataset(pixels: [0, 51, 255, 128], labels: [0], exampleShape: [1, 2, 2])
        let n = Normalization(unscaledFor: data)
        #expect(n.mean == [0] && n.std == [1] && n.scalesBytes)
        #expect(n.table[0] == 0 && n.table[51] == 0.2 && n.table[255] == 1)
    }

    /// Inputs 0, 1, 3 feed layer 1; of its neurons only 0 has connections in and out (1 has
    /// none in, 2 none out); of layer 2's, 0 does; the output layer stays whole.
    @Test func connectedWidthsFollowRigLsCompression() {
        let l1 = SparsePattern(rows: 3, cols: 4, activeIndices: [0, 1, 2 * 4 + 3])
        let l2 = SparsePattern(rows: 2, cols: 3, activeIndices: [0, 3 + 1])
        let l3 = SparsePattern(rows: 2, cols: 2, activeIndices: [0, 2])
        #expect(ConnectedWidths.widths([l1, l2, l3]) == [3, 1, 1, 2])
        let dense = [SparsePattern.dense(rows: 5, cols: 6), .dense(rows: 2, cols: 5)]
        #expect(ConnectedWidths.widths(dense) == [6, 5, 2])
    }
}
