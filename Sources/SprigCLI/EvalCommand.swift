import ArgumentParser
import Foundation
import MPI
import Sprig

/// `sprig eval`: test accuracy of exported weights.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a safetensors file written by `sprig train --weights-out` on the test set."
    )

    @Argument(help: "The safetensors file (its metadata holds the config); sparse layers dense with masks in NAME.masks.safetensors beside it, or in CSR form.") var weights: String
    @Option(name: .long, help: "Data folder (default: the one in the file's config).") var data: String?

    @Option(name: .long, help: "Also write the predicted class of each test image to this file, one a line, in the file's order.")
    var predictions: String?

    func run() throws {
        do {
            let (tensors, masks, metadata) = try MaskSidecar.read(path: weights)
            guard let text = metadata["config"] else { throw SprigError(weights, "no config in the metadata (not written by sprig)") }
            var config = try TrainingConfig.parse(text: text, source: weights + " (metadata)")
            if let data { config.data.path = data }
            let dataset = try config.loadData()
            let trainer = try Trainer(config: config, replicas: .single(), data: dataset)
            try trainer.load(tensors, masks: masks, metadata: metadata, source: weights)
            let (accuracy, loss) = trainer.evaluate(dataset.test)
            if let predictions {
                let text = trainer.predictions(dataset.test).map(String.init).joined(separator: "\n") + "\n"
                do { try text.write(toFile: predictions, atomically: true, encoding: .utf8) } catch {
                    throw SprigError(predictions, "cannot write the predictions: \(error.localizedDescription)")
                }
            }
            print(String(format: "test_accuracy %.4f  test_loss %.4f  (%d examples, %@)", accuracy, loss, dataset.test.count, config.modelName))
        } catch let error as SprigError {
            printError(error.description)
            throw ExitCode(inputErrorCode)
        }
    }
}
