import SprigTensor
import SprigLayers

/// Selection of the k best-scoring positions. Ties are broken by a key that is a hash of
/// (stream, position), so every rank and every run breaks them the same way (the reference
/// code adds N(0, 1e-5) noise to the scores instead; a key never reorders distinct scores).
///
/// A streaming selection: a heap of the k best so far, whose worst entry is compared with
/// each candidate; most candidates are rejected by one float comparison, so choosing
/// thousands of connections among millions costs about one pass over the scores.
public struct TopK {
    /// The stream the tie keys are drawn from.
    public let keySeed: UInt64

    public init(keySeed: UInt64) {
        self.keySeed = keySeed
    }

    /// A stream of keys for (seed, purpose, step, layer).
    public init(seed: UInt64, purpose: RandomPurpose, step: Int, layer: Int) {
        var r = StatelessRandom(seed: seed, purpose: purpose, step: step, layer: layer)
        keySeed = r.next()
    }

    /// The tie-breaking key of `position`.
    @inline(__always)
    public func key(_ position: Int) -> UInt64 {
        StatelessRandom.mix(keySeed ^ (UInt64(position) &* 0x9E37_79B9_7F4A_7C15))
    }

    struct Entry {
        var score: Float
        var key: UInt64
        var index: Int

        /// True when a ranks above b.
        @inline(__always)
        static func better(_ a: Entry, _ b: Entry) -> Bool {
            a.score > b.score || (a.score == b.score && a.key > b.key)
        }
    }

    /// The `k` positions in `0..<count` with `isCandidate` that have the largest `score`,
    /// ascending. Fails when there are fewer than k candidates.
    public func largest(_ k: Int, count: Int, isCandidate: (Int) -> Bool = { _ in true }, score: (Int) -> Float) -> [Int] {
        precondition(k >= 0, "cannot pick \(k)")
        guard k > 0 else { return [] }
        // A min-heap by `better`: heap[0] is the worst of the best k so far.
        var heap: [Entry] = []
        heap.reserveCapacity(k)
        for i in 0..<count where isCandidate(i) {
            let s = score(i)
            if heap.count < k {
                heap.append(Entry(score: s, key: key(i), index: i))
                siftUp(&heap, heap.count - 1)
            } else if s >= heap[0].score {
                let e = Entry(score: s, key: key(i), index: i)
                if Entry.better(e, heap[0]) {
                    heap[0] = e
                    siftDown(&heap, 0)
                }
            }
        }
        precondition(heap.count == k, "cannot pick \(k) of \(heap.count) candidates")
        return heap.map(\.index).sorted()
    }

    /// The `k` positions with the smallest `score`, ascending.
    public func smallest(_ k: Int, count: Int, isCandidate: (Int) -> Bool = { _ in true }, score: (Int) -> Float) -> [Int] {
        largest(k, count: count, isCandidate: isCandidate, score: { -score($0) })
    }

    private func siftUp(_ h: inout [Entry], _ start: Int) {
        var c = start
        while c > 0 {
            let p = (c - 1) / 2
            guard Entry.better(h[p], h[c]) else { return }
            h.swapAt(p, c)
            c = p
        }
    }

    private func siftDown(_ h: inout [Entry], _ start: Int) {
        var p = start
        while true {
            let l = 2 * p + 1, r = l + 1
            var worst = p
            if l < h.count && Entry.better(h[worst], h[l]) { worst = l }
            if r < h.count && Entry.better(h[worst], h[r]) { worst = r }
            if worst == p { return }
            h.swapAt(p, worst)
            p = worst
        }
    }
}
