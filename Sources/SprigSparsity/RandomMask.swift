import SprigTensor

/// Uniformly random masks.
public enum RandomMask {
    /// `count` distinct indices of `0..<total`, uniformly at random (a partial
    /// Fisher-Yates shuffle), ascending.
    public static func indices(count: Int, of total: Int, random: inout StatelessRandom) -> [Int] {
        precondition(count >= 0 && count <= total, "cannot choose \(count) of \(total)")
        var pool = [Int32](unsafeUninitializedCapacity: total) { buffer, initialized in
            for i in 0..<total { buffer[i] = Int32(i) }
            initialized = total
        }
        for i in 0..<count {
            let j = i + random.nextInt(below: total - i)
            pool.swapAt(i, j)
        }
        return pool[..<count].map(Int.init).sorted()
    }
}
