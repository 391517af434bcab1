#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Chooses the communicator for this process.
public enum Launch {
    /// Reads one environment variable; `processEnvironment` reads this process's (getenv),
    /// tests pass a dictionary's lookup.
    public typealias Environment = (String) -> String?

    /// This process's environment.
    public static let processEnvironment: Environment = { name in getenv(name).map { String(cString: $0) } }

    /// Environment variables set by the launchers Sprig supports (Open MPI's mpirun,
    /// PMIx-based srun, PMI-2 srun). A process started without any of them runs alone.
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"]

    /// How this process runs: alone, or as one rank of an MPI world.
    public enum Mode: Equatable {
        case single
        case world
    }

    /// True when this process was started by an MPI launcher (and so must join the world).
    /// `SPRIG_MPI=0` forces a single process, `SPRIG_MPI=1` forces MPI initialisation.
    public static var startedByLauncher: Bool { startedByLauncher(in: processEnvironment) }

    public static func startedByLauncher(in environment: Environment) -> Bool {
        if let forced = environment("SPRIG_MPI") {
            return forced == "1"
        }
        return launcherVariables.contains { environment($0) != nil }
    }

    /// Variables in which the launchers give a process its rank (Slurm's for srun without
    /// PMI, which `mode(in:)` refuses).
    public static let rankVariables = ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"]

    /// True unless a launcher started this process as a rank other than 0; read before MPI
    /// starts, for errors that every rank finds alike (the command line, the launch).
    public static func isRankZero(in environment: Environment = processEnvironment) -> Bool {
        rankVariables.allSatisfy { environment($0).map { $0 == "0" } ?? true }
    }

    /// The number of tasks of the Slurm job step this process is one of: srun sets
    /// SLURM_STEP_NUM_TASKS in every task it starts, with or without PMI. A batch script
    /// (and a program it runs directly) is in no step and has none; nil then.
    public static func slurmStepTasks(in environment: Environment) -> Int? {
        environment("SLURM_STEP_NUM_TASKS").flatMap { Int($0) }
    }

    /// Whether this process joins an MPI world. Refuses a process that srun started as one
    /// of several tasks without PMI (`srun -n 2 sprig` on a cluster whose MpiDefault is
    /// none): every task would train alone and all would write the same files.
    /// `SPRIG_MPI=0` runs each such task alone all the same.
    public static func mode(in environment: Environment = processEnvironment) throws -> Mode {
        if startedByLauncher(in: environment) { return .world }
        if environment("SPRIG_MPI") == nil, let tasks = slurmStepTasks(in: environment), tasks > 1 {
            throw LaunchError.slurmStepWithoutPMI(tasks: tasks)
        }
        return .single
    }

    /// True when this build links Open MPI (the `MPI` trait).
    public static var mpiAvailable: Bool {
        #if MPI
        return true
        #else
        return false
        #endif
    }

    /// The world of an mpirun job, or rank 0 of 1 when started without a launcher: the
    /// single-node fallback. Fails when started by a launcher in a build without MPI, and
    /// when srun started several tasks without PMI (see `mode(in:)`).
    public static func communicator(environment: Environment = processEnvironment) throws -> Communicator {
        guard try mode(in: environment) == .world else { return SingleProcessCommunicator() }
        #if MPI
        return WorldCommunicator()
        #else
        throw LaunchError.mpiNotBuiltIn
        #endif
    }
}

/// Why a communicator could not be made.
public enum LaunchError: Error, Equatable, CustomStringConvertible {
    case mpiNotBuiltIn
    /// srun started `tasks` tasks without PMI.
    case slurmStepWithoutPMI(tasks: Int)

    public var description: String {
        switch self {
        case .mpiNotBuiltIn:
            return "started by an MPI launcher, but this sprig was built without MPI (the 'MPI' package trait)"
        case .slurmStepWithoutPMI(let tasks):
            return "srun started \(tasks) tasks but gave them no PMI, so each would train alone and write the same files: "
                + "run `srun --mpi=pmix sprig ...` (or sbatch launch/slurm.sbatch, or mpirun inside the allocation); "
                + "SPRIG_MPI=0 runs each task alone anyway"
        }
    }
}
