import SprigTensor
import SprigExport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The checkpoints a run keeps: the newest at `path`, the one before at `path.1`, and so on
/// up to `path.(keep - 1)`, so that a newest file that turns out damaged (a disk fault, a
/// node lost mid-write on a file system without atomic rename) falls back to the one before.
///
/// A write puts the new checkpoint in a temporary file and flushes it first (`AtomicFile`);
/// only then are the older files shifted by one (`path.(k-1)` renamed to `path.k`, and
/// `path` hard-linked as `path.1`, so that `path` never goes missing) and the new file
/// renamed over `path`. A write that fails leaves every kept file as it was.
public struct CheckpointFiles: Equatable {
    public let path: String
    public let keep: Int

    public init(path: String, keep: Int) {
        self.path = path
        self.keep = max(1, keep)
    }

    /// The file of the checkpoint `age` writes before the newest (0: the newest).
    public func name(age: Int) -> String { age == 0 ? path : "\(path).\(age)" }

    /// Writes `checkpoint` as the newest and keeps the `keep - 1` before it. Temporary files
    /// that a killed writer left beside PATH (`.NAME.tmp-PID` of a process that is gone)
    /// are removed first, so that restarts after kills mid-write do not fill the disk.
    public func write(_ checkpoint: Checkpoint) throws {
        removeStaleTemporaries()
        try AtomicFile.write(checkpoint.encode(), to: path) {
            guard keep > 1, access(path, F_OK) == 0 else { return }
            for age in stride(from: keep - 1, through: 2, by: -1) { _ = rename(name(age: age - 1), name(age: age)) }
            unlink(name(age: 1))
            if link(path, name(age: 1)) != 0 { _ = rename(path, name(age: 1)) } // no hard links here: move it
        }
    }

    private func removeStaleTemporaries() {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let prefix = ".\(url.lastPathComponent).tmp-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(directory + "/" + name)
        }
    }

    /// A checkpoint found on disk and the file it came from.
    public struct Found {
        public let bytes: [UInt8]
        public let checkpoint: Checkpoint
        public let file: String
        /// One line per newer file that was skipped: which, and why.
        public let skipped: [String]
    }

    /// The newest readable, valid checkpoint among `path`, `path.1`, `path.2`, ... (as many
    /// as exist), or nil when there is no file at all. Damaged or unreadable newer files are
    /// skipped, each with its reason in `skipped`; when every file present is damaged, the
    /// newest's error is thrown.
    public func newestValid() throws -> Found? {
        var skipped: [String] = []
        var firstError: Error?
        var age = 0
        while true {
            let file = name(age: age)
            let exists = FileManager.default.fileExists(atPath: file)
            if !exists && age > 0 && !FileManager.default.fileExists(atPath: name(age: age + 1)) { break }
            if exists {
                do {
                    guard let data = FileManager.default.contents(atPath: file) else { throw SprigError(file, "cannot read checkpoint") }
                    let bytes = [UInt8](data)
                    let checkpoint = try Checkpoint.decode(bytes, source: file)
                    return Found(bytes: bytes, checkpoint: checkpoint, file: file, skipped: skipped)
                } catch {
                    firstError = firstError ?? error
                    skipped.append(String(describing: error))
                }
            }
            age += 1
        }
        if let firstError { throw firstError }
        return nil
    }
}
