import Sprig

/// Fails when an output cannot be written, before any work: a file whose folder is
/// missing or read-only or that is a folder, or a folder (`--pictures`) that is a file.
/// Each entry is the flag and its path (nil when not given).
func checkOutputs(files: [(flag: String, path: String?)], folders: [(flag: String, path: String?)] = []) throws {
    for case let (flag, path?) in files {
        if let problem = OutputPath.fileProblem(path) { throw SprigError(path, "\(flag): \(problem)") }
    }
    for case let (flag, path?) in folders {
        if let problem = OutputPath.directoryProblem(path) { throw SprigError(path, "\(flag): \(problem)") }
    }
}
