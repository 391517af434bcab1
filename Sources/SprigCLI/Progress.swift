import Foundation
import MPI
import Sprig

#if canImport(Glibc)
import Glibc
#endif

/// A progress bar with rate and ETA on rank 0's terminal; nothing when standard output is
/// not a terminal (logs and pipes get the plain epoch lines only). Under mpirun rank 0's
/// output is always a pseudo-terminal of Open MPI's, whatever mpirun's own output is, so
/// there the bar is shown only when SPRIG_PROGRESS=1 asks for it.
struct Progress {
    let enabled: Bool
    let totalSteps: Int
    private var startStep = 0
    private var startTime = monotonicSeconds()
    private var lastDraw = 0.0

    init(enabled: Bool, totalSteps: Int, startStep: Int) {
        let underLauncher = Launch.startedByLauncher
        let asked = ProcessInfo.processInfo.environment["SPRIG_PROGRESS"] == "1"
        self.enabled = enabled && isatty(STDOUT_FILENO) != 0 && (!underLauncher || asked)
        self.totalSteps = totalSteps
        self.startStep = startStep
    }

    /// Redraws at most ten times a second.
    mutating func update(step: Int, examplesPerStep: Int) {
        guard enabled else { return }
        let now = monotonicSeconds()
        guard now - lastDraw >= 0.1 || step == totalSteps else { return }
        lastDraw = now
        let done = Double(step) / Double(max(totalSteps, 1))
        let rate = Double((step - startStep) * examplesPerStep) / max(now - startTime, 1e-9)
        let remaining = Double(totalSteps - step) * Double(examplesPerStep) / max(rate, 1e-9)
        let width = 30, filled = Int(done * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let eta = String(format: "%d:%02d", Int(remaining) / 60, Int(remaining) % 60)
        print(String(format: "\r\u{1B}[K[%@] %5.1f%%  step %d/%d  %.0f samples/s  ETA %@", bar, done * 100, step, totalSteps, rate, eta),
              terminator: "")
        fflush(stdout)
    }

    /// Clears the bar before a line is printed.
    func clear() {
        guard enabled else { return }
        print("\r\u{1B}[K", terminator: "")
    }
}
