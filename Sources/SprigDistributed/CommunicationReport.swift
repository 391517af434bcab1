import MPI

/// Bytes per training step by kind, against what a dense data-parallel trainer would
/// all-reduce for the same model: every parameter (all weights, dense, and biases) every
/// step. Counts are per rank and are payload sizes (see `TrafficCounter`), so they are the
/// same for any number of ranks.
public struct CommunicationReport {
    public var steps: Int
    public var bytes: [TrafficKind: Int]
    /// Bytes a dense data-parallel step all-reduces: 4 x (dense parameter count).
    public var denseBytesPerStep: Int

    public init(steps: Int, bytes: [TrafficKind: Int], denseBytesPerStep: Int) {
        self.steps = steps
        self.bytes = bytes
        self.denseBytesPerStep = denseBytesPerStep
    }

    /// The traffic between two snapshots of a rank's counts.
    public init(steps: Int, from before: TrafficSnapshot, to after: TrafficSnapshot, denseBytesPerStep: Int) {
        var d: [TrafficKind: Int] = [:]
        for kind in TrafficKind.sprigKinds { d[kind] = (after.bytes[kind] ?? 0) - (before.bytes[kind] ?? 0) }
        self.init(steps: steps, bytes: d, denseBytesPerStep: denseBytesPerStep)
    }

    public var totalBytes: Int { bytes.values.reduce(0, +) }
    public func bytesPerStep(_ kind: TrafficKind) -> Double { Double(bytes[kind] ?? 0) / Double(max(steps, 1)) }
    public var bytesPerStep: Double { Double(totalBytes) / Double(max(steps, 1)) }
    public var ratioToDense: Double { bytesPerStep / Double(denseBytesPerStep) }
    /// Bytes per step of each kind, by the kind's name, in report order.
    public var bytesPerStepByKind: [(kind: String, bytesPerStep: Double)] {
        TrafficKind.sprigKinds.map { ($0.rawValue, bytesPerStep($0)) }
    }

    /// A few lines for the terminal.
    public var lines: [String] {
        var out = [String(format: "communication: %.0f bytes/step per rank over %ld steps = %.2f%% of dense data-parallel (%ld bytes/step)",
                          bytesPerStep, steps, 100 * ratioToDense, denseBytesPerStep)]
        for kind in TrafficKind.sprigKinds where (bytes[kind] ?? 0) > 0 {
            out.append("  " + kind.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)
                       + String(format: "%12.1f bytes/step  (%.2f%% of dense)", bytesPerStep(kind), 100 * bytesPerStep(kind) / Double(denseBytesPerStep)))
        }
        return out
    }

    /// The kinds only mask-update steps carry.
    public static let updateKinds: [TrafficKind] = [.denseGradients, .growthFactors, .growthCandidates, .maskDiffs]

    /// Bytes per mask update of the update kinds, against `4 x sum(in x out)`: the bytes of
    /// the sparse layers' dense gradients, what reducing them whole would move per update.
    /// `path` names how dense gradients travelled, for methods that use them.
    public func updateLine(updates: Int, sparseDenseBytes: Int, path: String?) -> String {
        let perUpdate = CommunicationReport.updateKinds.map { (kind: $0, bytes: Double(bytes[$0] ?? 0) / Double(max(updates, 1))) }
        let total = perUpdate.reduce(0) { $0 + $1.bytes }
        return String(format: "update steps: %ld, %.0f bytes each = %.2f%% of the sparse layers' dense gradients (%ld bytes)",
                      updates, total, 100 * total / Double(max(sparseDenseBytes, 1)), sparseDenseBytes)
            + (path.map { "; path \($0)" } ?? "") + ": "
            + perUpdate.filter { $0.bytes > 0 }.map { String(format: "%@ %.0f", $0.kind.rawValue, $0.bytes) }.joined(separator: ", ")
    }
}

import Foundation
