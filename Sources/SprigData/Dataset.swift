import SprigTensor
import Foundation

/// Labelled examples of equal size, kept as the raw bytes of the IDX files (one byte per
/// pixel); batches are turned into normalised floats as they are gathered.
public struct Dataset {
    /// `count * featureCount` pixel bytes, example after example.
    public let pixels: [UInt8]
    /// One class index per example.
    public let labels: [UInt8]
    /// The shape of one example (for MNIST: 28 x 28).
    public let exampleShape: [Int]

    public var count: Int { labels.count }
    public var featureCount: Int { exampleShape.reduce(1, *) }

    public init(pixels: [UInt8], labels: [UInt8], exampleShape: [Int]) {
        precondition(pixels.count == labels.count * exampleShape.reduce(1, *), "pixel and label counts disagree")
        self.pixels = pixels
        self.labels = labels
        self.exampleShape = exampleShape
    }

    /// Reads an images file and a labels file in IDX format and checks that they agree
    /// and that every label is below `classes`.
    public init(imagesPath: String, labelsPath: String, classes: Int) throws {
        let images = try IDXFile(path: imagesPath, expectedRank: 3)
        let labels = try IDXFile(path: labelsPath, expectedRank: 1)
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw SprigError(labelsPath, "holds \(labels.dimensions[0]) labels but \(imagesPath) holds \(images.dimensions[0]) images")
        }
        if let bad = labels.values.firstIndex(where: { Int($0) >= classes }) {
            throw SprigError(labelsPath, "label \(labels.values[bad]) at index \(bad) is out of range 0..<\(classes)")
        }
        guard images.dimensions[0] > 0 else {
            throw SprigError(imagesPath, "holds no images")
        }
        self.init(pixels: images.values, labels: labels.values, exampleShape: Array(images.dimensions[1...]))
    }
}

extension Dataset {
    /// The first `count - n` examples and the last `n`.
    public func split(holdingOut n: Int) -> (kept: Dataset, heldOut: Dataset) {
        precondition(n >= 0 && n < count)
        let cut = count - n
        let f = featureCount
        return (Dataset(pixels: Array(pixels[..<(cut * f)]), labels: Array(labels[..<cut]), exampleShape: exampleShape),
                Dataset(pixels: Array(pixels[(cut * f)...]), labels: Array(labels[cut...]), exampleShape: exampleShape))
    }
}

/// The training and test sets of an MNIST-format directory, and a validation set when
/// part of the training set is held out.
public struct MNISTData {
    public let train: Dataset
    public let test: Dataset
    /// Examples held out of the training files (`holdingOut`).
    public let validation: Dataset?

    /// The four standard files; each may also be gzipped (`.gz`), and the dotted variant
    /// of the names (`train-images.idx3-ubyte`) is accepted too.
    public static let fileNames = (
        trainImages: "train-images-idx3-ubyte", trainLabels: "train-labels-idx1-ubyte",
        testImages: "t10k-images-idx3-ubyte", testLabels: "t10k-labels-idx1-ubyte"
    )

    public init(train: Dataset, test: Dataset, validation: Dataset? = nil) {
        self.train = train
        self.test = test
        self.validation = validation
    }

    /// These sets with the training set's last `n` examples held out as the validation
    /// set (unchanged when `n` is 0). Keras's `validation_split` also takes the last ones.
    public func holdingOut(_ n: Int) -> MNISTData {
        guard n > 0 else { return self }
        let (kept, heldOut) = train.split(holdingOut: n)
        return MNISTData(train: kept, test: test, validation: heldOut)
    }

    /// Loads the four files of `directory`; `classes` bounds the labels.
    public init(directory: String, classes: Int = 10) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SprigError(directory, "data directory does not exist (run launch/fetch-mnist.sh, or pass --data DIR)")
        }
        let names = MNISTData.fileNames
        let train = try Dataset(imagesPath: try MNISTData.locate(names.trainImages, in: directory),
                                labelsPath: try MNISTData.locate(names.trainLabels, in: directory), classes: classes)
        let testImages = try MNISTData.locate(names.testImages, in: directory)
        let test = try Dataset(imagesPath: testImages,
                               labelsPath: try MNISTData.locate(names.testLabels, in: directory), classes: classes)
        guard train.exampleShape == test.exampleShape else {
            throw SprigError(testImages, "images are \(test.exampleShape), the training images are \(train.exampleShape)")
        }
        self.init(train: train, test: test)
    }

    /// The path of `name` in `directory`, raw or gzipped, in standard or dotted spelling.
    static func locate(_ name: String, in directory: String) throws -> String {
        let dotted = name.replacingOccurrences(of: "-idx", with: ".idx")
        for candidate in [name, name + ".gz", dotted, dotted + ".gz"] {
            let path = (directory as NSString).appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw SprigError((directory as NSString).appendingPathComponent(name), "missing data file (looked for it raw and as .gz)")
    }
}
