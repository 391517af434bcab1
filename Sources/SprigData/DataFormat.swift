import SprigTensor
import Foundation

/// The data formats Sprig reads, each with its reader (`DataReader`).
public enum DataFormat: String, CaseIterable, Sendable {
    /// IDX files in MNIST's layout (MNIST, Fashion-MNIST, any IDX set): `IDXReader`.
    case idx
    /// CIFAR-10's binary distribution (`cifar-10-batches-bin/`): `CIFAR10Reader`.
    case cifar10
    /// CIFAR-100's binary distribution (`cifar-100-binary/`): `CIFAR100Reader`.
    case cifar100
    /// NumPy arrays, `train.npz` and `test.npz` with arrays `x` and `y`: `NumPyReader`.
    case npz

    /// The reader of this format.
    public var reader: DataReader.Type {
        switch self {
        case .idx: return IDXReader.self
        case .cifar10: return CIFAR10Reader.self
        case .cifar100: return CIFAR100Reader.self
        case .npz: return NumPyReader.self
        }
    }

    /// The format's name as users know it.
    public var title: String {
        switch self {
        case .idx: return "MNIST-format IDX"
        case .cifar10: return "CIFAR-10 binary"
        case .cifar100: return "CIFAR-100 binary"
        case .npz: return "NumPy .npz"
        }
    }
}

/// Reads one data format: recognises a folder of it and reads its training and test sets.
///
/// A reader checks everything it reads (sizes, shapes, element types, label ranges) and
/// reports the first problem as a `SprigError` naming the file, before any training.
public protocol DataReader {
    /// The format this reader reads.
    static var format: DataFormat { get }
    /// What a folder of this format holds, for messages (`train.npz and test.npz`).
    static var expectedFiles: String { get }
    /// The name of the folder the format's download unpacks to (`cifar-10-batches-bin`),
    /// if it has one: a folder that only holds it is read through it.
    static var distributionFolder: String? { get }
    /// True when `directory` holds files of this format (one of them is enough: a reader
    /// names the missing ones).
    static func recognises(_ directory: String) -> Bool
    /// The training and test sets of `directory`, as `source` asks for them (its
    /// `label`, `layout`, `classes`; `source.check` has checked that they apply).
    static func read(_ directory: String, source: DataSource) throws -> DataSplits
}

extension DataReader {
    public static var distributionFolder: String? { nil }

    /// The path of `name` in `directory`.
    static func path(_ name: String, in directory: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }

    /// True when `name` exists in `directory`.
    static func exists(_ name: String, in directory: String) -> Bool {
        FileManager.default.fileExists(atPath: path(name, in: directory))
    }

    /// The bytes of the file at `path`, or an error naming it.
    static func contents(of path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SprigError(path, FileManager.default.fileExists(atPath: path) ? "cannot read file" : "missing data file")
        }
        return [UInt8](data)
    }
}
