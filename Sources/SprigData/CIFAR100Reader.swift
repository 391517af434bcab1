import SprigTensor
import Foundation

/// Reads CIFAR-100's binary distribution as downloaded (`cifar-100-binary.tar.gz` unpacks
/// to `cifar-100-binary/`): `train.bin` (50,000 records in the original) and `test.bin`
/// (10,000), with the class names in `fine_label_names.txt` and `coarse_label_names.txt`.
/// A record is a coarse label byte (0-19), a fine label byte (0-99) and a 3 x 32 x 32
/// image (`CIFARRecords`). The run trains on the fine labels, or on the coarse ones with
/// `data: {label: coarse}`.
public enum CIFAR100Reader: DataReader {
    public static let format = DataFormat.cifar100
    public static let expectedFiles = "train.bin and test.bin"
    public static let distributionFolder: String? = "cifar-100-binary"

    public static func recognises(_ directory: String) -> Bool {
        exists("train.bin", in: directory) || exists("test.bin", in: directory)
    }

    public static func read(_ directory: String, source: DataSource) throws -> DataSplits {
        let label = source.label ?? .fine
        let records = CIFARRecords(labelClasses: [20, 100], labelNames: ["coarse label", "fine label"],
                                   trainedLabel: label == .fine ? 1 : 0)
        let train = try records.read(path("train.bin", in: directory))
        let test = try records.read(path("test.bin", in: directory))
        let classes = label == .fine ? 100 : 20
        let names = try CIFARRecords.classNames(path("\(label.rawValue)_label_names.txt", in: directory), classes: classes)
        return DataSplits(train: Dataset(pixels: train.pixels, labels: train.labels, exampleShape: CIFARRecords.imageShape),
                          test: Dataset(pixels: test.pixels, labels: test.labels, exampleShape: CIFARRecords.imageShape),
                          classes: classes, classNames: names, format: format, directory: directory)
    }
}
