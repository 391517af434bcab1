import SprigTensor

/// Uniformly random masks.
public enum RandomMask {
    /// `count` distinct indices of `0..<total`, uniformly at random, ascending: a partial
    /// Fisher-Yates shuffle of the identity (step i swaps positions i and
    /// `i + nextInt(below: total - i)`, and the first `count` positions are the choice).
    ///
    /// The identity is implicit: only the positions a swap has moved are held, in a
    /// dictionary, so memory and time follow `count`, not `total` (a layer of 6e10
    /// positions costs what its active weights cost). When `count` is a large share of
    /// `total` an array is cheaper and is used; both give the same indices.
    public static func indices(count: Int, of total: Int, random: inout StatelessRandom) -> [Int] {
        precondition(count >= 0 && count <= total, "cannot choose \(count) of \(total)")
        if total <= 4 * count {
            var pool = Array(0..<total)
            for i in 0..<count { pool.swapAt(i, i + random.nextInt(below: total - i)) }
            return pool[..<count].sorted()
        }
        var moved: [Int: Int] = [:]
        moved.reserveCapacity(count)
        var chosen = [Int]()
        chosen.reserveCapacity(count)
        for i in 0..<count {
            let j = i + random.nextInt(below: total - i)
            let atJ = moved[j] ?? j
            let atI = moved.removeValue(forKey: i) ?? i
            if j != i { moved[j] = atI }
            chosen.append(atJ)
        }
        return chosen.sorted()
    }

    /// A constant fan-in mask (SRigL's initial mask): `fanIn` distinct columns of each of the
    /// `rows` rows, row r's from the stream (seed, maskInit, step r, layer), as flat indices
    /// `r * cols + c`, ascending.
    public static func constantFanIn(rows: Int, cols: Int, fanIn: Int, seed: UInt64, layer: Int) -> [Int] {
        var chosen: [Int] = []
        chosen.reserveCapacity(rows * fanIn)
        for r in 0..<rows {
            var random = StatelessRandom(seed: seed, purpose: .maskInit, step: r, layer: layer)
            chosen += indices(count: fanIn, of: cols, random: &random).map { r * cols + $0 }
        }
        return chosen
    }
}
