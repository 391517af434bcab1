import SprigSparsity

/// The wire format of mask decisions: what rank 0 broadcasts after deciding.
extension MaskDiff {
    /// Encodes diffs as Int32 values: the diff count, the index width (1, or 2 when some
    /// position needs 64 bits: layers past 2^31 positions), then per diff: layer, dropped
    /// count, dropped indices, grown count, grown indices, pruned-bias count, pruned biases.
    /// A wide index is two values, high then low 32 bits.
    public static func encode(_ diffs: [MaskDiff]) -> [Int32] {
        let wide = diffs.contains { d in d.dropped.contains { $0 > Int(Int32.max) } || d.grown.contains { $0 > Int(Int32.max) } }
        var out: [Int32] = [Int32(diffs.count), wide ? 2 : 1]
        func index(_ v: Int) {
            if wide {
                out.append(Int32(truncatingIfNeeded: v >> 32))
                out.append(Int32(bitPattern: UInt32(truncatingIfNeeded: v)))
            } else {
                out.append(Int32(v))
            }
        }
        for d in diffs {
            out.append(Int32(d.sparseLayer))
            out.append(Int32(d.dropped.count))
            d.dropped.forEach(index)
            out.append(Int32(d.grown.count))
            d.grown.forEach(index)
            out.append(Int32(d.prunedBiases.count))
            out += d.prunedBiases.map { Int32($0) }
        }
        return out
    }

    public static func decode(_ values: [Int32]) -> [MaskDiff] {
        var i = 0
        func next() -> Int { defer { i += 1 }; return Int(values[i]) }
        let count = next()
        let wide = next() == 2
        func index() -> Int {
            guard wide else { return next() }
            let high = next()
            return high << 32 | Int(UInt32(bitPattern: Int32(next())))
        }
        var diffs: [MaskDiff] = []
        for _ in 0..<count {
            let layer = next()
            let dropped = (0..<next()).map { _ in index() }
            let grown = (0..<next()).map { _ in index() }
            let biases = (0..<next()).map { _ in next() }
            diffs.append(MaskDiff(sparseLayer: layer, dropped: dropped, grown: grown, prunedBiases: biases))
        }
        return diffs
    }
}
