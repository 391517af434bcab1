import SprigTensor
import Foundation

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
    /// if it has one: a folder with no data files of its own that holds it is read
    /// through it.
    static var distributionFolder: String? { get }
    /// True when `directory` holds files of this format (one of its key files is enough:
    /// the reader then names the missing ones).
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
}
