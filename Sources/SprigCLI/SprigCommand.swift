import ArgumentParser
import Foundation
import MPI
import Sprig

#if canImport(Glibc)
import Glibc
#endif

/// `sprig`: sparse neural-network training, one process or many under mpirun.
@main
struct SprigCommand: ParsableCommand {
    /// Parses and runs the command under one error contract: every user error (a flag the
    /// parser rejects, a bad value, a bad file) ends with one line `sprig: error: ...` on
    /// standard error and exit code 2, before any training; `--help` and `--version` exit 0.
    /// Standard output is line-buffered, so that logs (Slurm's, a tee) show each epoch as
    /// it ends.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            // The command printed its own message.
            Glibc.exit(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            // Under a launcher every rank parses the same arguments: rank 0 speaks.
            if Launch.isRankZero() {
                let lines = message(for: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                let hint = error is ValidationError ? "" : " (see 'sprig --help')"
                printError(lines.filter { !$0.isEmpty }.joined(separator: "; ") + hint)
            }
            Glibc.exit(inputErrorCode)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "sprig",
        abstract: "Train sparse neural networks data-parallel under mpirun, or as one process.",
        version: SprigVersion.string,
        subcommands: [TrainCommand.self, PruneCommand.self, EvalCommand.self, DataCommand.self, BenchCommand.self, CompareCommand.self]
    )
}
