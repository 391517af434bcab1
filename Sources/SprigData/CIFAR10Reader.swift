import SprigTensor
import Foundation

/// Reads CIFAR-10's binary distribution as downloaded (`cifar-10-binary.tar.gz` unpacks
/// to `cifar-10-batches-bin/`): the training set in `data_batch_1.bin` ... `data_batch_5.bin`
/// (10,000 records each in the original), the test set in `test_batch.bin`, and the ten
/// class names in `batches.meta.txt`. A record is one label byte (0-9) and a 3 x 32 x 32
/// image (`CIFARRecords`). The batch files are read in their numeric order, 1 to the
/// last, none missing between.
public enum CIFAR10Reader: DataReader {
    public static let format = DataFormat.cifar10
    public static let expectedFiles = "data_batch_1.bin ... data_batch_5.bin and test_batch.bin"
    public static let distributionFolder: String? = "cifar-10-batches-bin"
    static let records = CIFARRecords(labelClasses: [10], labelNames: ["label"], trainedLabel: 0)

    public static func recognises(_ directory: String) -> Bool {
        exists("data_batch_1.bin", in: directory) || exists("test_batch.bin", in: directory)
    }

    public static func read(_ directory: String, source: DataSource) throws -> DataSplits {
        let batches = try trainingBatches(in: directory)
        var pixels: [UInt8] = [], labels: [Int32] = []
        for batch in batches {
            let part = try records.read(batch)
            pixels += part.pixels
            labels += part.labels
        }
        let test = try records.read(path("test_batch.bin", in: directory))
        let names = try CIFARRecords.classNames(path("batches.meta.txt", in: directory), classes: 10)
        return DataSplits(train: Dataset(pixels: pixels, labels: labels, exampleShape: CIFARRecords.imageShape),
                          test: Dataset(pixels: test.pixels, labels: test.labels, exampleShape: CIFARRecords.imageShape),
                          classes: 10, classNames: names, format: format, directory: directory)
    }

    /// `data_batch_1.bin` ... `data_batch_K.bin`, the highest number K present; one missing
    /// below K is an error naming it. Numbers are written as CIFAR writes them (no sign, no
    /// leading zero).
    static func trainingBatches(in directory: String) throws -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let numbers = Set(names.compactMap { name -> Int? in
            guard name.hasPrefix("data_batch_"), name.hasSuffix(".bin") else { return nil }
            let digits = String(name.dropFirst("data_batch_".count).dropLast(".bin".count))
            guard let k = Int(digits), k >= 1, String(k) == digits else { return nil }
            return k
        })
        var batches: [String] = []
        while numbers.contains(batches.count + 1) { batches.append(path("data_batch_\(batches.count + 1).bin", in: directory)) }
        if let last = numbers.max(), last > batches.count {
            throw SprigError(path("data_batch_\(batches.count + 1).bin", in: directory),
                             "missing data file (data_batch_\(last).bin is there: the training batches go from 1 to \(last))")
        }
        guard !batches.isEmpty else {
            throw SprigError(path("data_batch_1.bin", in: directory), "missing data file (CIFAR-10's training set is \(expectedFiles))")
        }
        return batches
    }
}
