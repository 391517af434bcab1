import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT as a request to stop cleanly: what a cluster sends before it kills a
/// job (`scancel`, a preemption, a time limit) and what Ctrl-C sends.
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
        for s in [SIGTERM, SIGINT] {
            Glibc.signal(s) { sig in
                let (exchanged, _) = StopSignal.received.compareExchange(expected: 0, desired: sig, ordering: .relaxed)
                if !exchanged {
                    Glibc.signal(sig, SIG_DFL)
                    raise(sig)
                }
            }
        }
    }

    /// The signal received, if any.
    static var caught: Int32? {
        let s = received.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }

    /// `SIGTERM`, `SIGINT`, or the number.
    static func name(_ s: Int32) -> String {
        switch s {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        default: return "signal \(s)"
        }
    }
}
