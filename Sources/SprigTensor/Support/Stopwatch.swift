#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic wall-clock time in seconds (CLOCK_MONOTONIC).
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The mean wall-clock seconds of one call of `body`, called once to warm up and then
/// repeatedly for at least `seconds`.
public func secondsPerPass(atLeast seconds: Double, _ body: () -> Void) -> Double {
    body()
    var passes = 0
    let start = monotonicSeconds()
    repeat {
        body()
        passes += 1
    } while monotonicSeconds() - start < seconds
    return (monotonicSeconds() - start) / Double(passes)
}
