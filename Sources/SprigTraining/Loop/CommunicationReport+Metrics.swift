import SprigDistributed
import SprigExport

extension CommunicationReport {
    /// The metrics-file fields.
    public func add(to j: inout JSONLine) {
        j.add("bytes_per_step", bytesPerStep)
        j.add("dense_bytes_per_step", denseBytesPerStep)
        j.add("bytes_vs_dense", ratioToDense)
        j.add("bytes_per_step_by_kind", json: "{" + bytesPerStepByKind.map { "\"\($0.kind)\": \($0.bytesPerStep)" }.joined(separator: ", ") + "}")
    }
}
