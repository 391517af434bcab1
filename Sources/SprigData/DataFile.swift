import SprigTensor
import Foundation

/// Reading a data file whole, with the error every reader gives when it cannot.
enum DataFile {
    /// The bytes of the file at `path`; an error naming it says `missing` when there is no
    /// such file, and that it cannot be read otherwise.
    static func bytes(_ path: String, missing: String = "no such file") throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SprigError(path, FileManager.default.fileExists(atPath: path) ? "cannot read file" : missing)
        }
        return [UInt8](data)
    }
}
