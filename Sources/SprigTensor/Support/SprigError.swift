/// A failure a user can act on: bad input, an impossible setting, an unwritable file.
///
/// `subject` names what is wrong (a file path or a config field) and `message` says how;
/// the command-line tool prints `subject: message` and exits non-zero, without a trace.
public struct SprigError: Error, CustomStringConvertible, Equatable {
    public let subject: String
    public let message: String

    public init(_ subject: String, _ message: String) {
        self.subject = subject
        self.message = message
    }

    public var description: String { "\(subject): \(message)" }
}
