#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Chooses the communicator for this process.
public enum Launch {
    /// Environment variables set by the launchers Sprig supports (Open MPI's mpirun,
    /// PMIx-based srun, PMI-2 srun). A process started without any of them runs alone.
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"]

    /// True when this process was started by an MPI launcher (and so must join the world).
    /// `SPRIG_MPI=0` forces a single process, `SPRIG_MPI=1` forces MPI initialisation.
    public static var startedByLauncher: Bool {
        if let forced = getenv("SPRIG_MPI").map({ String(cString: $0) }) {
            return forced == "1"
        }
        return launcherVariables.contains { getenv($0) != nil }
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
    /// single-node fallback. Fails when started by a launcher in a build without MPI.
    public static func communicator() throws -> Communicator {
        guard startedByLauncher else { return SingleProcessCommunicator() }
        #if MPI
        return WorldCommunicator()
        #else
        throw LaunchError.mpiNotBuiltIn
        #endif
    }
}

/// Why a communicator could not be made.
public enum LaunchError: Error, CustomStringConvertible {
    case mpiNotBuiltIn

    public var description: String {
        switch self {
        case .mpiNotBuiltIn:
            return "started by an MPI launcher, but this sprig was built without MPI (the 'MPI' package trait)"
        }
    }
}
