import SprigTensor
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a reader sees the old contents or the new, never a part: the bytes
/// go to a temporary file beside the target, are flushed to disk (fsync), and the
/// temporary file is renamed over the target (rename is atomic within a file system).
/// A write that fails (a full disk, an I/O error, a read-only folder) removes the temporary
/// file and leaves the target as it was.
public enum AtomicFile {
    /// `beforeRename` runs once the new bytes are safely on disk, just before they replace
    /// the target (`CheckpointFiles` keeps the previous file there).
    public static func write(_ bytes: [UInt8], to path: String, beforeRename: () -> Void = {}) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(base).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw SprigError(path, "cannot write: \(String(cString: strerror(errno)))")
        }
        var ok = true
        var reason = ""
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    ok = false
                    reason = String(cString: strerror(errno))
                    return
                }
                done += n
            }
        }
        if ok && fsync(fd) != 0 {
            ok = false
            reason = String(cString: strerror(errno))
        }
        close(fd)
        guard ok else {
            unlink(temporary)
            throw SprigError(path, "cannot write: \(reason)")
        }
        beforeRename()
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw SprigError(path, "cannot write: \(reason)")
        }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }
}
