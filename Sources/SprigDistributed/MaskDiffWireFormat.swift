import SprigSparsity

/// The wire format of mask decisions: what rank 0 broadcasts after deciding.
extension MaskDiff {
    /// Encodes diffs as Int32 values: per diff, layer, dropped count, dropped indices,
    /// grown count, grown indices, pruned-bias count, pruned biases (the form rank 0
    /// broadcasts).
    public static func encode(_ diffs: [MaskDiff]) -> [Int32] {
        var out: [Int32] = [Int32(diffs.count)]
        for d in diffs {
            out.append(Int32(d.sparseLayer))
            out.append(Int32(d.dropped.count))
            out += d.dropped.map { Int32($0) }
            out.append(Int32(d.grown.count))
            out += d.grown.map { Int32($0) }
            out.append(Int32(d.prunedBiases.count))
            out += d.prunedBiases.map { Int32($0) }
        }
        return out
    }

    public static func decode(_ values: [Int32]) -> [MaskDiff] {
        var i = 0
        func next() -> Int { defer { i += 1 }; return Int(values[i]) }
        var diffs: [MaskDiff] = []
        for _ in 0..<next() {
            let layer = next()
            let dropped = (0..<next()).map { _ in next() }
            let grown = (0..<next()).map { _ in next() }
            let biases = (0..<next()).map { _ in next() }
            diffs.append(MaskDiff(sparseLayer: layer, dropped: dropped, grown: grown, prunedBiases: biases))
        }
        return diffs
    }
}
