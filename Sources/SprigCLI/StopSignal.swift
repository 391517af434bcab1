import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT as a request to stop cleanly: what a cluster sends before it kills a
/// job (`scancel`, a preemption, a time limit) and what Ctrl-C sends. SIGUSR1 and SIGUSR2
/// stand for them where launch/mpirun.sh relays them through mpirun, which passes the user
/// signals to every rank as they are (SIGTERM and SIGINT it answers by aborting the job).
///
/// The first signal only records itself; the trainer reads it once per step and votes to
/// stop through the step's all-reduce, so every rank stops after the same step and rank 0
/// writes a checkpoint. A second signal ends the process at once (the default action).
enum StopSignal {
    /// The first stop signal received (0: none).
    private static let received = Atomic<Int32>(0)

    /// Installs the handlers (call once, before training).
    static func install() {
        _ = received.load(ordering: .relaxed)   // initialised here, never in a handler
        for s in [SIGTERM, SIGINT, SIGUSR1, SIGUSR2] {
            Glibc.signal(s) { sig in
                let (exchanged, _) = StopSignal.received.compareExchange(expected: 0, desired: sig, ordering: .relaxed)
                if !exchanged {
                    Glibc.signal(sig, SIG_DFL)
                    raise(sig)
                }
            }
        }
    }

    /// The stop signal received, if any: SIGTERM or SIGINT (SIGUSR1 and SIGUSR2 count as
    /// the signal they relay).
    static var caught: Int32? {
        switch received.load(ordering: .relaxed) {
        case 0: return nil
        case SIGUSR1: return SIGTERM
        case SIGUSR2: return SIGINT
        case let s: return s
        }
    }

    /// True when the signal came relayed by mpirun (as SIGUSR1 or SIGUSR2).
    static var relayed: Bool { [SIGUSR1, SIGUSR2].contains(received.load(ordering: .relaxed)) }

    /// `SIGTERM`, `SIGINT`, or the number.
    static func name(_ s: Int32) -> String {
        switch s {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        default: return "signal \(s)"
        }
    }
}
