import SprigTensor
import SprigExport
import SprigDistributed

/// What one epoch of training measured; rank 0 prints it and writes it to the metrics file.
public struct EpochReport {
    public var epoch: Int
    /// Steps taken so far in the run.
    public var step: Int
    /// The mean over the epoch's steps of the global batch's mean loss.
    public var trainLoss: Double
    public var testAccuracy: Double
    public var testLoss: Double
    /// On the held-out part of the training set (`validation: N`), when there is one.
    public var validationAccuracy: Double?
    public var validationLoss: Double?
    /// Training examples per second over all ranks (evaluation excluded).
    public var samplesPerSecond: Double
    public var seconds: Double
    /// Of `seconds`, the time this rank spent gathering its batches: reading the examples,
    /// augmenting and normalising them (the data path).
    public var dataSeconds: Double = 0
    /// Payload bytes this rank handed to collectives during the epoch (training and
    /// evaluation), by kind.
    public var communication: CommunicationReport
    public var bytesAllReduced: Int { communication.totalBytes }
    /// The learning rate of the epoch's last step.
    public var learningRate: Double

    /// The metrics-file line.
    public var json: JSONLine {
        var j = JSONLine()
        j.add("epoch", epoch)
        j.add("step", step)
        j.add("train_loss", trainLoss)
        j.add("test_accuracy", testAccuracy)
        j.add("test_loss", testLoss)
        if let validationAccuracy, let validationLoss {
            j.add("validation_accuracy", validationAccuracy)
            j.add("validation_loss", validationLoss)
        }
        j.add("samples_per_second", samplesPerSecond)
        j.add("epoch_seconds", seconds)
        j.add("data_seconds", dataSeconds)
        j.add("bytes_allreduced", bytesAllReduced)
        communication.add(to: &j)
        j.add("lr", learningRate)
        return j
    }

    /// The terminal line.
    public func line(epochs: Int) -> String {
        let acc = String(format: "%.2f", testAccuracy * 100)
        let loss = String(format: "%.4f", trainLoss)
        let comm = String(format: "%.1f kB/step (%.2f%% of dense)", communication.bytesPerStep / 1000, 100 * communication.ratioToDense)
        let validation = validationAccuracy.map { String(format: "  validation_accuracy %.2f%%", $0 * 100) } ?? ""
        return "epoch \(epoch)/\(epochs)  train_loss \(loss)\(validation)  test_accuracy \(acc)%  \(Int(samplesPerSecond.rounded())) samples/s  \(comm)"
    }
}

import Foundation
