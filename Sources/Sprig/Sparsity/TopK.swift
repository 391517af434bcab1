/// Selection of the k best-scoring positions, with ties broken by a random key drawn from
/// a stateless stream, so that every rank and every run breaks them the same way. (The
/// reference code adds N(0, 1e-5) noise to the scores instead; a key never reorders
/// distinct scores.)
public enum TopK {
    struct Entry {
        var score: Float
        var key: UInt64
        var index: Int32

        @inline(__always)
        static func better(_ a: Entry, _ b: Entry) -> Bool {
            a.score > b.score || (a.score == b.score && a.key > b.key)
        }
    }

    /// The `k` indices among `candidates` with the largest `score`, in ascending index order.
    public static func largest(_ k: Int, of candidates: [Int], score: (Int) -> Float, random: inout StatelessRandom) -> [Int] {
        precondition(k >= 0 && k <= candidates.count, "cannot pick \(k) of \(candidates.count)")
        guard k > 0 else { return [] }
        var entries = candidates.map { Entry(score: score($0), key: random.next(), index: Int32($0)) }
        select(&entries, k)
        return entries[..<k].map { Int($0.index) }.sorted()
    }

    /// The `k` indices among `candidates` with the smallest `score`, ascending.
    public static func smallest(_ k: Int, of candidates: [Int], score: (Int) -> Float, random: inout StatelessRandom) -> [Int] {
        largest(k, of: candidates, score: { -score($0) }, random: &random)
    }

    /// Moves the k best entries to the front (quickselect with median-of-three pivots).
    static func select(_ a: inout [Entry], _ k: Int) {
        var lo = 0, hi = a.count - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if Entry.better(a[mid], a[lo]) { a.swapAt(mid, lo) }
            if Entry.better(a[hi], a[lo]) { a.swapAt(hi, lo) }
            if Entry.better(a[hi], a[mid]) { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while Entry.better(a[i], pivot) { i += 1 }
                while Entry.better(pivot, a[j]) { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k - 1 <= j { hi = j } else if k - 1 >= i { lo = i } else { return }
        }
    }
}
