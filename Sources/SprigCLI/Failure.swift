import ArgumentParser
import MPI
import Sprig

#if canImport(Glibc)
import Glibc
#endif

/// Prints `message` on standard error as `sprig: error: ...`.
func printError(_ message: String) {
    var stderr = StandardError()
    print("sprig: error: \(message)", to: &stderr)
}

/// `error` with `note` added to its message (`PATH: cannot write: ...; note`).
func noting(_ error: Error, _ note: String) -> SprigError {
    if let e = error as? SprigError { return SprigError(e.subject, "\(e.message); \(note)") }
    return SprigError(String(describing: error), note)
}

/// Prints `message` on standard error as `sprig: warning: ...` (the run goes on).
func printWarning(_ message: String) {
    var stderr = StandardError()
    print("sprig: warning: \(message)", to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { fputs(string, Glibc.stderr) }
}

/// The exit code of a run that failed on bad input or settings.
let inputErrorCode: Int32 = 2

/// The communicator of this process (the MPI world under a launcher, else rank 0 of 1);
/// a launch that cannot work ends with one error line and exit code 2 (every rank fails
/// alike, rank 0 says why).
func startCommunicator() throws -> Communicator {
    do {
        return try Launch.communicator()
    } catch {
        if Launch.isRankZero() { printError(String(describing: error)) }
        throw ExitCode(inputErrorCode)
    }
}

/// Runs `body` on every rank and agrees on the outcome, so that a failure on any rank
/// ends every rank cleanly instead of leaving the others waiting in a collective.
///
/// One all-reduce (min) finds the lowest failing rank; that rank prints its error and
/// every rank finalises MPI and exits with code 2. Use it for the setup phase (reading
/// the config and the data), where every rank reaches the same point.
func agreeing<T>(_ communicator: Communicator, _ body: () throws -> T) throws -> T {
    var result: T?
    var failure: String?
    do {
        result = try body()
    } catch let error as SprigError {
        failure = error.description
    } catch {
        failure = String(describing: error)
    }
    let failingRank = communicator.allReduce(Int32(failure == nil ? communicator.size : communicator.rank),
                                             op: .min, kind: .metrics)
    if Int(failingRank) < communicator.size {
        if Int(failingRank) == communicator.rank, let failure {
            printError(communicator.size > 1 ? "\(failure) (rank \(communicator.rank))" : failure)
        }
        communicator.finalize()
        throw ExitCode(inputErrorCode)
    }
    return result!
}

/// Ends the job after a failure that only this rank may have seen (during training):
/// prints it and aborts every rank (MPI_Abort), or exits when running alone.
func abortJob(_ communicator: Communicator, _ error: Error) -> Never {
    printError(String(describing: error))
    communicator.abort(code: inputErrorCode)
}
