import SprigTensor
import Foundation

/// Reads a folder in MNIST's layout (LeCun, Cortes and Burges): four IDX files,
/// `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
/// `t10k-labels-idx1-ubyte`, each raw or gzipped (`.gz`), in the standard or the dotted
/// spelling (`train-images.idx3-ubyte`). Images of H x W bytes are one-channel examples
/// `[1, H, W]`. MNIST, Fashion-MNIST and KMNIST come this way.
///
/// The files do not state the number of classes: it is `data.classes`, or 1 + the largest
/// training label.
public enum IDXReader: DataReader {
    public static let format = DataFormat.idx
    public static let expectedFiles = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"

    /// The four standard files.
    public static let fileNames = (
        trainImages: "train-images-idx3-ubyte", trainLabels: "train-labels-idx1-ubyte",
        testImages: "t10k-images-idx3-ubyte", testLabels: "t10k-labels-idx1-ubyte"
    )

    public static func recognises(_ directory: String) -> Bool {
        let n = fileNames
        return [n.trainImages, n.trainLabels, n.testImages, n.testLabels].contains { (try? locate($0, in: directory)) != nil }
    }

    public static func read(_ directory: String, source: DataSource) throws -> DataSplits {
        let n = fileNames
        let trainImages = try locate(n.trainImages, in: directory), trainLabels = try locate(n.trainLabels, in: directory)
        let testImages = try locate(n.testImages, in: directory), testLabels = try locate(n.testLabels, in: directory)
        let train = try examples(images: trainImages, labels: trainLabels)
        let test = try examples(images: testImages, labels: testLabels)
        guard train.exampleShape == test.exampleShape else {
            throw SprigError(testImages, "images are \(test.shapeText), the training images are \(train.shapeText)")
        }
        let classes = try DataSplits.classes(train: train, trainSource: trainLabels, test: test, testSource: testLabels,
                                             declared: source.classes)
        return DataSplits(train: train, test: test, classes: classes, format: format, directory: directory)
    }

    /// An images file and a labels file that agree in count.
    static func examples(images imagesPath: String, labels labelsPath: String) throws -> Dataset {
        let images = try IDXFile(path: imagesPath, expectedRank: 3)
        let labels = try IDXFile(path: labelsPath, expectedRank: 1)
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw SprigError(labelsPath, "holds \(labels.dimensions[0]) labels but \(imagesPath) holds \(images.dimensions[0]) images")
        }
        guard images.dimensions[0] > 0 else {
            throw SprigError(imagesPath, "holds no images")
        }
        guard images.dimensions[1] > 0 && images.dimensions[2] > 0 else {
            throw SprigError(imagesPath, "images of \(images.dimensions[1]) x \(images.dimensions[2]) pixels hold no values")
        }
        return Dataset(pixels: images.values, labels: labels.values.map { Int32($0) }, exampleShape: [1] + images.dimensions[1...])
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
