import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `sprig`: sparse neural-network training, one process or many under mpirun.
@main
struct SprigCommand: ParsableCommand {
    /// Line-buffered standard output, so that logs (Slurm's, a tee) show each epoch as it ends.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        self.main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "sprig",
        abstract: "Train sparse neural networks data-parallel under mpirun, or as one process.",
        subcommands: [TrainCommand.self, PruneCommand.self, EvalCommand.self, BenchCommand.self, CompareCommand.self]
    )
}
