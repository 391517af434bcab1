import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Checks that a run can write its outputs, before it starts: a run must not train for an
/// hour and then find its folder missing.
public enum OutputPath {
    /// Why `path` cannot be written as a file, or nil: its folder must exist, be a folder
    /// and be writable, and `path` itself must not be a folder.
    public static func fileProblem(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return "is a directory, not a file"
        }
        return folderProblem(parent(of: path))
    }

    /// Why `path` cannot be used as an output folder, or nil: it is a writable folder, or
    /// it does not exist and can be created (its nearest existing ancestor is a writable
    /// folder).
    public static func directoryProblem(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            return isDirectory.boolValue ? folderProblem(path) : "exists and is not a directory"
        }
        var ancestor = parent(of: path)
        while !FileManager.default.fileExists(atPath: ancestor) && ancestor != "/" && ancestor != "." {
            ancestor = parent(of: ancestor)
        }
        return folderProblem(ancestor)
    }

    /// The folder of `path` ("." for a bare name).
    static func parent(of path: String) -> String {
        let p = (path as NSString).deletingLastPathComponent
        return p.isEmpty ? "." : p
    }

    private static func folderProblem(_ folder: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            return "the folder \(folder) does not exist"
        }
        guard isDirectory.boolValue else { return "\(folder) is not a folder" }
        guard access(folder, W_OK) == 0 else { return "the folder \(folder) is not writable" }
        return nil
    }
}
