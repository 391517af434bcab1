import SprigTensor
import Foundation

/// Reads one's own data as NumPy arrays: `train.npz` and `test.npz` (`numpy.savez` or
/// `savez_compressed`), each holding an array `x` of examples and an array `y` of labels.
///
/// - `x` is uint8 (kept as bytes) or float32 (float64 is rounded to float32), of shape
///   N x F (flat features), N x H x W (one-channel images), or N x C x H x W; with
///   `data: {layout: nhwc}` a 4-D `x` is N x H x W x C and is transposed as it is read.
///   Float values must be finite.
/// - `y` holds N integer labels (any integer type), of shape N or N x 1.
/// - The training and test examples have one shape and one element type.
///
/// The archives are opened with ZIPFoundation (stored and deflated members, ZIP64), and
/// each member is a `.npy` array (`NumPyArray`). The class count is `data.classes`, or 1
/// + the largest training label.
public enum NumPyReader: DataReader {
    public static let format = DataFormat.npz
    public static let expectedFiles = "train.npz and test.npz"

    public static func recognises(_ directory: String) -> Bool {
        exists("train.npz", in: directory) || exists("test.npz", in: directory)
    }

    public static func read(_ directory: String, source: DataSource) throws -> DataSplits {
        let trainPath = path("train.npz", in: directory), testPath = path("test.npz", in: directory)
        let layout = source.layout ?? .nchw
        let train = try examples(try NumPyArchive(path: trainPath), layout: layout)
        let test = try examples(try NumPyArchive(path: testPath), layout: layout)
        guard train.exampleShape == test.exampleShape else {
            throw SprigError(testPath, "x's examples are \(test.shapeText), train.npz's are \(train.shapeText)")
        }
        guard train.values.elementType == test.values.elementType else {
            throw SprigError(testPath, "x is \(test.values.elementType), train.npz's x is \(train.values.elementType)")
        }
        let classes = try DataSplits.classes(train: train, trainSource: trainPath, test: test, testSource: testPath,
                                             declared: source.classes)
        return DataSplits(train: train, test: test, classes: classes, format: format, directory: directory)
    }

    /// The examples of one archive: `x` and `y` checked against each other.
    static func examples(_ archive: NumPyArchive, layout: DataSource.ArrayLayout) throws -> Dataset {
        let source = archive.path
        let x = try archive.array("x"), y = try archive.array("y")
        guard let n = x.shape.first, n > 0 else { throw SprigError(source, "x holds no examples (shape \(x.shape))") }
        var shape: [Int]
        switch x.shape.count {
        case 2: shape = [x.shape[1]]
        case 3: shape = [1, x.shape[1], x.shape[2]]
        case 4: shape = layout == .nhwc ? [x.shape[3], x.shape[1], x.shape[2]] : Array(x.shape[1...])
        default: throw SprigError(source, "x has shape \(x.shape): Sprig reads N x F, N x H x W or N x C x H x W")
        }
        if layout == .nhwc && x.shape.count != 4 {
            throw SprigError(source, "x has shape \(x.shape), but data.layout nhwc needs N x H x W x C")
        }
        guard shape.allSatisfy({ $0 > 0 }) else { throw SprigError(source, "x has shape \(x.shape): an example has no values") }
        guard y.shape == [n] || y.shape == [n, 1] else {
            if let labels = y.shape.first, labels != n { throw SprigError(source, "x holds \(n) examples but y holds \(labels) labels") }
            throw SprigError(source, "y has shape \(y.shape), expected \(n) labels (N or N x 1)")
        }
        guard let raw = y.integers() else { throw SprigError(source, "y is \(y.typeName): labels must be integers") }
        guard y.kind != .bool else { throw SprigError(source, "y is bool: labels must be integers") }
        if let bad = raw.firstIndex(where: { $0 < 0 || $0 > Int64(Int32.max) }) {
            throw SprigError(source, "label \(raw[bad]) at index \(bad) is out of range (labels are 0, 1, ...)")
        }
        let labels = raw.map { Int32($0) }
        var values: ExampleValues
        switch (x.kind, x.itemSize) {
        case (.unsigned, 1): values = .uint8(x.data)
        case (.float, _):
            // Standardising subtracts and divides in float32: values past 1e30 could overflow.
            if let (index, value) = x.firstFloat(beyond: 1e30) {
                throw SprigError(source, "x holds \(value) in example \(index / shape.reduce(1, *)): values must be finite and within ±1e30")
            }
            values = .float32(x.floats()!)
        default:
            throw SprigError(source, "x is \(x.typeName) ('\(x.descr)'): Sprig reads uint8 or float32 (or float64) examples")
        }
        if layout == .nhwc { values = channelsFirst(values, count: n, height: x.shape[1], width: x.shape[2], channels: x.shape[3]) }
        return Dataset(values: values, labels: labels, exampleShape: shape)
    }

    /// N x H x W x C values in N x C x H x W order.
    static func channelsFirst(_ values: ExampleValues, count: Int, height: Int, width: Int, channels: Int) -> ExampleValues {
        func transpose<T>(_ v: [T]) -> [T] {
            var out = v
            let plane = height * width, f = plane * channels
            for i in 0..<count {
                for p in 0..<plane {
                    for c in 0..<channels { out[i * f + c * plane + p] = v[i * f + p * channels + c] }
                }
            }
            return out
        }
        switch values {
        case .uint8(let v): return .uint8(transpose(v))
        case .float32(let v): return .float32(transpose(v))
        }
    }
}
