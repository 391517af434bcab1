import SprigTensor
import Foundation
import ZIPFoundation

/// An `.npz` file: a zip archive of `.npy` members, `NAME.npy` for the array NAME. It is
/// read from the file (ZIPFoundation's in-memory archives trap on some damaged input).
struct NumPyArchive {
    let path: String
    private let archive: Archive

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw SprigError(path, "missing data file") }
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw SprigError(path, "not an .npz file (not a zip archive ZIPFoundation can open: \(error))")
        }
        self.path = path
    }

    /// The array `name` (the member `name.npy`).
    func array(_ name: String) throws -> NumPyArray {
        guard let entry = archive[name + ".npy"] else {
            let names = archive.map(\.path).filter { $0.hasSuffix(".npy") }.map { String($0.dropLast(4)) }
            throw SprigError(path, "holds no array '\(name)' (it holds \(names.isEmpty ? "none" : names.joined(separator: ", ")); "
                             + "write it with numpy.savez(path, x=examples, y=labels))")
        }
        // The sizes in a damaged or hostile archive cannot be trusted: a member may claim more
        // than the machine holds, or inflate past what it claims.
        let size = Int(clamping: entry.uncompressedSize)
        guard UInt64(size) <= ProcessInfo.processInfo.physicalMemory else {
            throw SprigError(path, "\(name).npy would take \(size) bytes, more than this machine's memory")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(size, 1 << 30))
        do {
            _ = try archive.extract(entry) { chunk in
                guard bytes.count + chunk.count <= size else {
                    throw SprigError(path, "\(name).npy inflates past the \(size) bytes its header gives")
                }
                bytes.append(contentsOf: chunk)
            }
        } catch let error as SprigError {
            throw error
        } catch {
            throw SprigError(path, "\(name).npy cannot be read from the archive: \(error)")
        }
        do {
            return try NumPyArray(bytes: bytes, source: path)
        } catch let error as SprigError {
            throw SprigError(path, "\(name): \(error.message)")
        }
    }
}
