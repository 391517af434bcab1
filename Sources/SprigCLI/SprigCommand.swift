import ArgumentParser

/// `sprig`: sparse neural-network training, one process or many under mpirun.
@main
struct SprigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sprig",
        abstract: "Train sparse neural networks data-parallel under mpirun, or as one process.",
        subcommands: [TrainCommand.self, PruneCommand.self, EvalCommand.self, BenchCommand.self, CompareCommand.self]
    )
}
