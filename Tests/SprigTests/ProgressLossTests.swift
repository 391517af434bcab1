import Foundation
import Testing
@testable import Sprig
@testable import SprigTraining

/// The training loss the progress bar shows: the running mean of the epoch under way.
@Suite struct ProgressLossTests {
    @Test func epochLossSoFarIsTheEpochLinesLoss() throws {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10)
        var config = try TrainingConfig.parse(text: "model: {mlp: [64, 8, 4]}\nbatch_size: 20\nepochs: 2\nsparsity: {method: snfs, sparsity: 0.5, delta_t: 2}",
                                              source: "f.yaml")
        config.data.path = dir.path
        let trainer = try Trainer(config: config, replicas: .single(), data: try DataSource(path: dir.path, classes: 4).load())
        #expect(trainer.epochLossSoFar == nil)
        var seen: [Double] = []
        var reported: [Double] = []
        try trainer.train(afterStep: { _ in seen.append(trainer.epochLossSoFar!) }) { reported.append($0.trainLoss) }
        // two steps an epoch: the running mean after each epoch's last step is its reported
        // loss, after its first step that step's loss alone
        #expect(seen.count == 4 && reported.count == 2)
        #expect(seen[1] == reported[0] && seen[3] == reported[1])
        #expect(seen[0] != seen[1] && seen[2] != seen[3])
    }
}
