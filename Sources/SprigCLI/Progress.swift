import Foundation
import MPI
import Sprig

#if canImport(Glibc)
import Glibc
#endif

/// A progress bar on rank 0's terminal: the share of steps done, the training loss (the
/// running mean of the epoch under way, which every rank already has), the rate, the time
/// elapsed and an ETA, fitted to the terminal's width. Nothing when standard output is not
/// a terminal (logs and pipes get the plain epoch lines only). Under mpirun rank 0's output
/// is always a pseudo-terminal of Open MPI's, whatever mpirun's own output is, so there the
/// bar is shown only when SPRIG_PROGRESS=1 asks for it.
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

    /// Redraws at most ten times a second; `loss` is the training loss to show, if any.
    mutating func update(step: Int, examplesPerStep: Int, loss: Double? = nil) {
        guard enabled else { return }
        let now = monotonicSeconds()
        guard now - lastDraw >= 0.1 || step == totalSteps else { return }
        lastDraw = now
        let elapsed = now - startTime
        let rate = Double((step - startStep) * examplesPerStep) / max(elapsed, 1e-9)
        let remaining = Double(totalSteps - step) * Double(examplesPerStep) / max(rate, 1e-9)
        print("\r\u{1B}[K" + Self.line(step: step, totalSteps: totalSteps, loss: loss, samplesPerSecond: rate,
                                        elapsed: elapsed, remaining: remaining, columns: Self.terminalColumns),
              terminator: "")
        fflush(stdout)
    }

    /// The bar's text: a bar of up to 30 characters, narrower (down to 10) so that the line
    /// fits in `columns`; when even that does not fit, without the percentage and with single
    /// spaces, and at last cut at `columns - 1`.
    static func line(step: Int, totalSteps: Int, loss: Double?, samplesPerSecond: Double, elapsed: Double,
                     remaining: Double, columns: Int) -> String {
        let done = Double(step) / Double(max(totalSteps, 1))
        let percent = String(format: "%5.1f%%", done * 100)
        // fields padded to their widest, so that the bar keeps its width as the numbers grow
        let steps = String(totalSteps), count = String(step)
        let parts = ["step " + String(repeating: " ", count: max(steps.count - count.count, 0)) + count + "/" + steps]
            + (loss.map { [String(format: "loss %.4f", $0)] } ?? [])
            + [String(format: "%7.0f samples/s", samplesPerSecond), "elapsed " + clock(elapsed), "ETA " + clock(remaining)]
        var text = " " + ([percent] + parts).joined(separator: "  ")
        if columns - 3 - text.count < 10 { text = " " + parts.joined(separator: " ") }
        let width = min(30, max(10, columns - 3 - text.count)), filled = Int(done * Double(width))
        let line = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]" + text
        return line.count < columns ? line : String(line.prefix(max(columns - 1, 1)))
    }

    /// `seconds` as m:ss, or h:mm:ss from an hour on.
    static func clock(_ seconds: Double) -> String {
        let s = Int(max(seconds, 0).rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// The width of the terminal on standard output (80 when it does not say).
    static var terminalColumns: Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Clears the bar before a line is printed.
    func clear() {
        guard enabled else { return }
        print("\r\u{1B}[K", terminator: "")
    }
}
