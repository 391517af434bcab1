import SprigTensor
import Foundation

/// Where a run's data is and how to read it: the config's `data:` key, either a folder
/// (`data: data/cifar10`, its format recognised from the files it holds) or a mapping
/// (`data: {path: DIR, format: idx|cifar10|cifar100|npz, label: fine|coarse,
/// layout: nchw|nhwc, classes: N}`) that says it outright.
public struct DataSource: Equatable, Sendable {
    /// CIFAR-100's two labels per image: one of 100 fine classes, or one of 20 coarse ones.
    public enum CIFAR100Label: String, CaseIterable, Sendable { case fine, coarse }
    /// The axis order of NumPy images: N x C x H x W (PyTorch's), or N x H x W x C
    /// (TensorFlow's and PIL's), which is transposed as it is read.
    public enum ArrayLayout: String, CaseIterable, Sendable { case nchw, nhwc }

    /// The folder.
    public var path: String
    /// The format; nil: recognised from the files (`DataSource.resolve`).
    public var format: DataFormat?
    /// CIFAR-100 only: which label to train on (fine when nil).
    public var label: CIFAR100Label?
    /// NumPy only: the axis order of 4-D `x` arrays (nchw when nil).
    public var layout: ArrayLayout?
    /// IDX and NumPy only: the number of classes (1 + the largest training label when nil).
    public var classes: Int?

    public init(path: String, format: DataFormat? = nil, label: CIFAR100Label? = nil, layout: ArrayLayout? = nil,
                classes: Int? = nil) {
        self.path = path
        self.format = format
        self.label = label
        self.layout = layout
        self.classes = classes
    }

    /// The case of `T` named `name` (an option's value as written); otherwise `fail` gets
    /// the message: `unknown KIND 'name' (known: ...)` when `kind` is given, else
    /// `must be a or b, got 'name'`.
    public static func option<T: CaseIterable & RawRepresentable>(_ name: String, kind: String? = nil,
                                                                   fail: (String) -> SprigError) throws -> T where T.RawValue == String {
        if let value = T(rawValue: name) { return value }
        let names = T.allCases.map(\.rawValue)
        throw fail(kind.map { "unknown \($0) '\(name)' (known: \(names.joined(separator: ", ")))" }
                   ?? "must be \(names.joined(separator: " or ")), got '\(name)'")
    }

    /// True when only the folder is given (the config writes it as `data: DIR`).
    public var isPathOnly: Bool { format == nil && label == nil && layout == nil && classes == nil }

    /// The format and the folder that holds its files: `format` when given, else the one
    /// format whose files `path` holds; a folder with no data files of its own is read
    /// through the one distribution folder it holds (`cifar-10-batches-bin`).
    public func resolve() throws -> (format: DataFormat, directory: String) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SprigError(path, "data directory does not exist (run launch/fetch-mnist.sh, or pass --data DIR)")
        }
        guard isDirectory.boolValue else { throw SprigError(path, "is a file; --data and data: name the folder that holds the data files") }
        let formats = format.map { [$0] } ?? DataFormat.allCases
        let held = formats.filter { $0.reader.recognises(path) }
        if held.count == 1 || (format != nil && !held.isEmpty) { return (held[0], path) }
        if held.count > 1 {
            throw SprigError(path, "holds files of several formats (\(held.map(\.rawValue).joined(separator: ", "))): say which with "
                             + "data: {path: \(path), format: \(held[0].rawValue)}")
        }
        let inside = formats.compactMap { f -> (DataFormat, String)? in
            guard let folder = f.reader.distributionFolder else { return nil }
            let sub = (path as NSString).appendingPathComponent(folder)
            return f.reader.recognises(sub) ? (f, sub) : nil
        }
        if inside.count == 1 { return inside[0] }
        if inside.count > 1 {
            throw SprigError(path, "holds the folders of several data sets (\(inside.map { ($0.1 as NSString).lastPathComponent }.joined(separator: ", "))): "
                             + "pass one of them")
        }
        if let format {
            throw SprigError(path, "holds no \(format.title) data: looked for \(format.reader.expectedFiles)")
        }
        throw SprigError(path, "holds no data set Sprig reads: looked for "
                         + DataFormat.allCases.map { "\($0.reader.expectedFiles) (\($0.rawValue))" }.joined(separator: "; "))
    }

    /// Checks that the options given apply to `format`; `fail(field, message)` makes the
    /// error about the config field `data.FIELD`.
    public func check(for format: DataFormat, fail: (String, String) -> SprigError) throws {
        if label != nil && format != .cifar100 {
            throw fail("data.label", "applies to CIFAR-100 data only; \(path) holds \(format.rawValue) data")
        }
        if layout != nil && format != .npz {
            throw fail("data.layout", "applies to NumPy (npz) data only; \(path) holds \(format.rawValue) data")
        }
        if let classes {
            guard classes >= 1 && classes <= DataSplits.maximumClasses else {
                throw fail("data.classes", "must be in 1...\(DataSplits.maximumClasses), got \(classes)")
            }
            guard format == .idx || format == .npz else {
                throw fail("data.classes", "applies to idx and npz data, whose files do not state it; \(format.title) has its own classes")
            }
        }
    }

    /// Reads the data: resolves the format, checks the options, and reads the training
    /// and test sets (`DataReader.read`).
    public func load(fail: (String, String) -> SprigError = { SprigError($0, $1) }) throws -> DataSplits {
        let (format, directory) = try resolve()
        try check(for: format, fail: fail)
        return try format.reader.read(directory, source: self)
    }
}
