import SprigTensor

/// A data set as a run uses it: the training and test sets, a validation set when part of
/// the training set is held out, and the number of classes. The model's input shape and
/// class count come from here.
public struct DataSplits {
    public let train: Dataset
    public let test: Dataset
    /// Examples held out of the training files (`holdingOut`).
    public let validation: Dataset?
    /// Labels are in `0..<classes`.
    public let classes: Int
    /// The classes' names, when the files name them (CIFAR's `batches.meta.txt`).
    public let classNames: [String]?
    public let format: DataFormat
    /// The folder the files were read from.
    public let directory: String

    /// `train` and `test` must have examples of one shape and one element type, and
    /// labels in `0..<classes` (the readers check this, naming the files).
    public init(train: Dataset, test: Dataset, validation: Dataset? = nil, classes: Int, classNames: [String]? = nil,
                format: DataFormat, directory: String) {
        precondition(train.exampleShape == test.exampleShape, "training and test examples differ in shape")
        self.train = train
        self.test = test
        self.validation = validation
        self.classes = classes
        self.classNames = classNames
        self.format = format
        self.directory = directory
    }

    /// These sets with the training set's last `n` examples held out as the validation
    /// set (unchanged when `n` is 0). Keras's `validation_split` also takes the last ones.
    public func holdingOut(_ n: Int) -> DataSplits {
        guard n > 0 else { return self }
        let (kept, heldOut) = train.split(holdingOut: n)
        return DataSplits(train: kept, test: test, validation: heldOut, classes: classes, classNames: classNames,
                          format: format, directory: directory)
    }

    /// One line on what was read: format, folder, counts, example shape and type, classes.
    public var summary: String {
        var line = "\(format.title) in \(directory): \(train.count) training and \(test.count) test examples"
        if let validation { line += " (\(validation.count) more held out for validation)" }
        line += " of \(train.shapeText) \(train.values.elementType), \(classes) classes"
        if let classNames { line += " (" + classNames.prefix(10).joined(separator: ", ") + (classNames.count > 10 ? ", ..." : "") + ")" }
        return line
    }

    /// The most classes a data set may have (2^20: a model's output layer of that width
    /// already takes gigabytes).
    public static let maximumClasses = 1 << 20

    /// The class count of a format whose files do not state it (IDX, NumPy): `declared`
    /// (the config's `data.classes`) or 1 + the largest training label. Every label of
    /// both sets must lie in `0..<classes`; the error names the file holding the first
    /// that does not (`trainSource`, `testSource`).
    static func classes(train: Dataset, trainSource: String, test: Dataset, testSource: String, declared: Int?) throws -> Int {
        let top = Int(train.labels.max() ?? 0)
        if declared == nil && top >= maximumClasses {
            throw SprigError(trainSource, "label \(top) at index \(train.labels.firstIndex(of: Int32(top))!) would make \(top + 1) classes "
                             + "(at most \(maximumClasses))")
        }
        let classes = declared ?? max(top + 1, 1)
        for (set, source) in [(train, trainSource), (test, testSource)] {
            if let (index, label) = set.labelOutside(classes: classes) {
                let origin = declared != nil ? "data.classes is \(classes)" : "the training labels are 0..<\(classes)"
                throw SprigError(source, "label \(label) at index \(index) is out of range 0..<\(classes) (\(origin))")
            }
        }
        return classes
    }
}
