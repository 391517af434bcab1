/// A label for what a collective carries, under which `TrafficCounter` counts its bytes.
/// The application names its kinds (Sprig's are in SprigDistributed's `TrafficKinds.swift`).
public struct TrafficKind: RawRepresentable, Hashable, Sendable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

/// Counts the payload bytes this rank hands to collectives, by kind.
///
/// The figure is the size of the buffer a collective carries (count x element size), which
/// is the same on every rank and for every number of ranks, so that runs compare. A
/// single-process run counts what it *would* send.
public final class TrafficCounter: @unchecked Sendable {
    private var counts: [TrafficKind: Int] = [:]

    public init() {}

    /// Adds `bytes` to `kind`.
    public func add(_ bytes: Int, as kind: TrafficKind) {
        counts[kind, default: 0] += bytes
    }

    /// Bytes counted for `kind` so far.
    public func bytes(_ kind: TrafficKind) -> Int { counts[kind] ?? 0 }

    /// Bytes counted over all kinds so far.
    public var total: Int { counts.values.reduce(0, +) }

    /// A copy of the counts, for differences between two moments.
    public func snapshot() -> [TrafficKind: Int] { counts }
}
